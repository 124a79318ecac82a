// switchboard-hostile: clients that break the rules, for the soak
// (bench/soak.sh). Each kind runs on its own threads, in a loop, until the
// duration is over; whenever the server closes one of its connections it
// counts the close and connects again. Every socket call is bounded (the
// kit's RawClient); loopback only; each thread binds its own 127.0.4.x
// address, as hostile clients rarely share one.
//
//   switchboard-hostile --port P [--duration S] [--threads-per-kind N] [--room NAME]
//
// Kinds:
//   ping-flood   pings in batches of 1,000 (125 bytes each), never reads
//   slow-reader  a 4 KiB receive buffer, never reads, earns errors (2,000 "{"
//                a second) until the server closes it as too slow
//   burst        reads normally; every second sends 1,000 candidates at once
//                to a user of its room (the others here do not read): the
//                server answers recipient-busy or rate-limited
//   malformed    one bad input per connection, in turn: invalid JSON,
//                duplicate member names, a forged server type, an unknown
//                type, a binary frame, an unmasked frame, invalid UTF-8, an
//                oversized frame header, a bad Sec-WebSocket-Key, half an
//                upgrade request, a frame cut off mid-payload
//
// At the end it prints, per kind: connections, bytes sent, and the close
// codes and error codes the server answered.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "raw_client.hpp"

namespace {

using switchboard::testing::detail::RawClient;
using switchboard::testing::detail::RawFrame;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using json = nlohmann::json;

struct Settings {
    std::uint16_t port = 0;
    std::chrono::seconds duration{60};
    int threads_per_kind = 1;
    std::string room = "hostile";
};

/** What one kind saw, summed over its threads. */
struct Tally {
    std::mutex mutex;
    long connections = 0;
    long failed_connects = 0;
    std::uint64_t bytes_sent = 0;
    std::map<std::string, long> answers;  // "close 1008", "error recipient-busy", "http 400", ...

    void count(const std::string& what, long n = 1) {
        std::lock_guard lock(mutex);
        answers[what] += n;
    }
    void sent(std::size_t bytes) {
        std::lock_guard lock(mutex);
        bytes_sent += bytes;
    }
    void connected(bool ok) {
        std::lock_guard lock(mutex);
        (ok ? connections : failed_connects) += 1;
    }
};

int close_code(const RawFrame& frame) {
    const auto& p = frame.payload;
    return p.size() >= 2 ? (static_cast<unsigned char>(p[0]) << 8) | static_cast<unsigned char>(p[1]) : 1005;
}

/** Notes what a frame from the server was; true when it was a close. */
bool note(Tally& tally, const RawFrame& frame) {
    if (frame.opcode == 0x8) {
        tally.count("close " + std::to_string(close_code(frame)));
        return true;
    }
    if (frame.opcode == 0x1) {
        auto m = json::parse(frame.payload, nullptr, false);
        if (m.is_object() && m.value("type", "") == "error") tally.count("error " + m.value("code", "?"));
    }
    return false;
}

/** Reads until the server closes (or `timeout`), noting every frame. */
void drain_until_closed(RawClient& raw, Tally& tally, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        auto frame = raw.next_frame(100ms);
        if (!frame) {
            if (raw.ended()) {
                tally.count("hung up");
                return;
            }
            continue;
        }
        if (note(tally, *frame)) return;
    }
}

class Kind {
public:
    Kind(const Settings& s, std::string local) : settings_(s), local_(std::move(local)) {}

    /** A WebSocket in the hostile room; the login's user list goes to `users`. */
    bool join(RawClient& raw, Tally& tally, int receive_buffer, std::vector<long long>* users = nullptr) {
        bool ok = raw.connect(settings_.port, receive_buffer, 2s, local_) &&
                  raw.request(RawClient::upgrade_request("/room/" + settings_.room), 2s) == 101;
        if (ok && users) {
            auto login = raw.next_frame(2s);
            auto m = login ? json::parse(login->payload, nullptr, false) : json();
            ok = m.is_object() && m.value("type", "") == "login";
            if (ok)
                for (auto& u : m.value("users", json::array()))
                    if (u.is_number_integer()) users->push_back(u.get<long long>());
        }
        tally.connected(ok);
        if (!ok) std::this_thread::sleep_for(100ms);  // a limit said no: do not spin
        return ok;
    }

    bool running() const { return Clock::now() < end_; }
    void until(Clock::time_point end) { end_ = end; }

protected:
    const Settings& settings_;
    const std::string local_;
    Clock::time_point end_;
};

class PingFlood : public Kind {
public:
    using Kind::Kind;
    void run(Tally& tally) {
        std::string batch;
        for (int i = 0; i < 1000; ++i)
            batch += RawClient::frame(0x9, std::string(125, 'p'));
        while (running()) {
            RawClient raw;
            if (!join(raw, tally, 4096)) continue;
            // Up to 10 s per connection, 10 batches a second; then hang up and start again.
            for (int round = 0; round < 100 && running(); ++round) {
                if (!raw.write(batch, 1s)) {
                    tally.count("writes blocked");
                    break;
                }
                tally.sent(batch.size());
                std::this_thread::sleep_for(100ms);
            }
        }
    }
};

class SlowReader : public Kind {
public:
    using Kind::Kind;
    void run(Tally& tally) {
        const std::string bad = RawClient::frame(0x1, "{");
        while (running()) {
            RawClient raw;
            if (!join(raw, tally, 4096)) continue;
            // 2,000 bad messages a second, each answered with an error it
            // never reads (invalid-json, then rate-limited): the kernel's
            // buffers fill in half a minute or so, then the server's queue.
            bool open = true;
            for (int round = 0; round < 900 && open && running(); ++round) {
                std::string burst;
                for (int i = 0; i < 200; ++i)
                    burst += bad;
                open = raw.write(burst, 1s);
                if (open) tally.sent(burst.size());
                std::this_thread::sleep_for(100ms);
            }
            drain_until_closed(raw, tally, 2s);
        }
    }
};

class Burst : public Kind {
public:
    using Kind::Kind;
    void run(Tally& tally) {
        std::mt19937 random(std::random_device{}());
        while (running()) {
            RawClient raw;
            std::vector<long long> users;
            if (!join(raw, tally, 0, &users)) continue;
            bool open = true;
            for (int second = 0; second < 20 && open && running(); ++second) {
                // Read what came (presence: learn who is in the room).
                auto until = Clock::now() + 1s;
                while (open && Clock::now() < until) {
                    auto frame = raw.next_frame(50ms);
                    if (!frame) {
                        open = !raw.ended();
                        continue;
                    }
                    if (note(tally, *frame)) open = false;
                    auto m = json::parse(frame->payload, nullptr, false);
                    if (!m.is_object() || !m.contains("userId")) continue;
                    auto id = m["userId"].get<long long>();
                    if (m.value("type", "") == "user-joined") users.push_back(id);
                    if (m.value("type", "") == "user-left")
                        users.erase(std::remove(users.begin(), users.end(), id), users.end());
                }
                if (!open || users.empty()) continue;
                auto to = users[random() % users.size()];
                std::string burst;
                const std::string text =
                    json{{"type", "peer-candidate"},
                         {"to", to},
                         {"candidate", {{"candidate", "candidate:1 1 udp 1 127.0.0.1 9 typ host"}, {"sdpMid", "0"}}}}
                        .dump();
                for (int i = 0; i < 1000; ++i)
                    burst += RawClient::frame(0x1, text);
                open = raw.write(burst, 2s);
                if (open) tally.sent(burst.size());
            }
            if (open) tally.count("still open after 20 s (hung up by itself)");
        }
    }
};

class Malformed : public Kind {
public:
    using Kind::Kind;
    void run(Tally& tally) {
        std::size_t next = 0;
        while (running()) {
            RawClient raw;
            auto& attack = attacks()[next++ % attacks().size()];
            if (attack.upgrade.empty()) {
                if (!join(raw, tally, 0)) continue;
            } else {
                bool ok = raw.connect(settings_.port, 0, 2s, local_);
                tally.connected(ok);
                if (!ok) {
                    std::this_thread::sleep_for(100ms);
                    continue;
                }
                if (attack.upgrade == "half") {
                    raw.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webso", 1s);
                    tally.count(raw.wait_closed(15s) ? "half upgrade: closed" : "half upgrade: still open");
                    continue;
                }
                int status = raw.request(attack.upgrade, 2s);
                tally.count("http " + std::to_string(status));
                continue;
            }
            if (!raw.write(attack.bytes, 1s)) continue;
            tally.sent(attack.bytes.size());
            if (attack.cut) continue;  // hang up mid-frame
            // Read the answer: an error (then the connection stays: hang up) or a close.
            auto deadline = Clock::now() + 2s;
            while (Clock::now() < deadline) {
                auto frame = raw.next_frame(200ms);
                if (!frame) {
                    if (raw.ended()) break;
                    continue;
                }
                if (note(tally, *frame) || frame->opcode == 0x1) {
                    auto m = json::parse(frame->payload, nullptr, false);
                    if (frame->opcode == 0x8 || m.value("type", "") == "error") break;
                }
            }
            std::this_thread::sleep_for(20ms);
        }
    }

private:
    struct Attack {
        std::string bytes;
        std::string upgrade;  // non-empty: an HTTP-level attack instead ("half": half an upgrade)
        bool cut = false;
    };

    static std::string unmasked(int opcode, std::string_view payload) {
        std::string f;
        f += static_cast<char>(0x80 | opcode);
        f += static_cast<char>(payload.size());
        f += payload;
        return f;
    }

    static const std::vector<Attack>& attacks() {
        static const std::vector<Attack> all = [] {
            std::vector<Attack> a;
            a.push_back({RawClient::frame(0x1, "{\"type\":"), {}, false});
            a.push_back({RawClient::frame(0x1, R"({"type":"user-left","userId":1,"type":"peer-candidate","to":1})"),
                         {},
                         false});
            a.push_back({RawClient::frame(0x1, R"({"type":"user-left","userId":1})"), {}, false});
            a.push_back({RawClient::frame(0x1, R"({"type":"no-such-type","to":1})"), {}, false});
            a.push_back({RawClient::frame(0x2, "binary"), {}, false});
            a.push_back({unmasked(0x1, R"({"type":"peer-connect"})"), {}, false});
            a.push_back({RawClient::frame(0x1, "\xff\xfe not UTF-8"), {}, false});
            // The header of a masked 2^40-byte text frame, and no payload.
            a.push_back({std::string("\x81\xff\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00", 14), {}, false});
            a.push_back({{}, RawClient::upgrade_request("/", "c2hvcnQ="), false});
            a.push_back({{}, "half", false});
            a.push_back({RawClient::frame(0x1, R"({"type":"peer-connect","to":1,"desc":{}})").substr(0, 12), {}, true});
            return a;
        }();
        return all;
    }
};

}  // namespace

int main(int argc, char** argv) {
    Settings s;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "switchboard-hostile: %s needs a value\n", argv[i]);
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--port")
            s.port = static_cast<std::uint16_t>(std::stoi(value()));
        else if (arg == "--duration")
            s.duration = std::chrono::seconds(std::stoi(value()));
        else if (arg == "--threads-per-kind")
            s.threads_per_kind = std::max(1, std::stoi(value()));
        else if (arg == "--room")
            s.room = value();
        else {
            std::fprintf(stderr,
                         "usage: switchboard-hostile --port P [--duration S] [--threads-per-kind N] [--room NAME]\n");
            return 2;
        }
    }
    if (s.port == 0) {
        std::fprintf(stderr, "switchboard-hostile: --port is required\n");
        return 2;
    }

    const auto end = Clock::now() + s.duration;
    const char* names[] = {"ping-flood", "slow-reader", "burst", "malformed"};
    std::map<std::string, Tally> tallies;
    std::vector<std::thread> threads;
    int address = 0;
    for (auto* name : names) {
        Tally& tally = tallies[name];
        for (int t = 0; t < s.threads_per_kind; ++t) {
            std::string local = "127.0.4." + std::to_string(++address);
            threads.emplace_back([&s, &tally, end, kind = std::string(name), local] {
                auto go = [&](auto k) {
                    k.until(end);
                    k.run(tally);
                };
                if (kind == "ping-flood") go(PingFlood(s, local));
                if (kind == "slow-reader") go(SlowReader(s, local));
                if (kind == "burst") go(Burst(s, local));
                if (kind == "malformed") go(Malformed(s, local));
            });
        }
    }
    for (auto& t : threads)
        t.join();

    for (auto& [name, tally] : tallies) {
        std::printf("%-12s connections %ld (failed %ld), sent %.1f MB\n", name.c_str(), tally.connections,
                    tally.failed_connects, static_cast<double>(tally.bytes_sent) / 1e6);
        for (auto& [what, n] : tally.answers)
            std::printf("%-12s   %-40s %ld\n", "", what.c_str(), n);
    }
    return 0;
}

// hub_ops_fuzz: sequences of hub operations against an independent model of
// who is in which room.
//
// Input: byte 0 bit 0 picks the unknown-type policy (route or reject); then
// operations, each an opcode byte and its arguments:
//   open a user in "/", "/room/a" or "/room/b"; leave a participant; send a
//   message from a participant (valid and invalid templates, addressed to an
//   existing, departed, refused or unknown user, or to 0); send raw bytes
//   from a user; join a local participant (LocalId::fresh, or LocalId::host,
//   which must throw std::logic_error while ID 0 is in use).
// Limits are small (4 users a room, 2 rooms) so refusals happen. After every
// operation, each participant must have received exactly what the model
// predicts, in order: `login` once and first with the users already there
// (their profiles, and a well-formed resume token for a remote user),
// `user-joined`/`user-left` once for each other user of its room, the routed
// message (without `to`, with the sender's `from`) or the error with its
// code; a refused join gets only its error (and a close with 1013); nothing
// crosses rooms, nobody who left gets anything. The hub's counters
// (connections open, total and refused, rooms open, messages routed) must
// equal the model's. Raw bytes are checked loosely: one error to the sender,
// or one message from the sender to one user of its room.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <switchboard/hub.hpp>

#include "fuzz_check.hpp"

namespace {

using nlohmann::json;
using switchboard::UserId;
using switchboard::fuzz::printable;

constexpr std::size_t max_users_per_room = 4;
constexpr std::size_t max_rooms = 2;
constexpr int room_count = 3;
const char* const room_paths[room_count] = {"/", "/room/a", "/room/b"};
const char* const room_names[room_count] = {"", "a", "b"};
constexpr UserId nobody = 987654321;

class Recording final : public switchboard::Connection {
public:
    void send(std::shared_ptr<const std::string> text) override { sent.push_back(*text); }
    void close(int code, std::string_view) override { closes.push_back(code); }
    std::vector<std::string> sent;
    std::vector<int> closes;
};

enum class State { joining, joined, left, refused };

struct Participant {
    bool local = false;
    int room = 0;
    State state = State::joining;
    UserId id = 0;                          // unknown (0) for a refused remote user
    std::shared_ptr<Recording> connection;  // remote
    std::shared_ptr<switchboard::Session> session;
    std::shared_ptr<switchboard::LocalParticipant> participant;  // local
    std::vector<json> received;                                  // local: what its handler got
    std::size_t seen = 0;                                        // messages already checked
    std::vector<json> expected;                                  // what the current operation must bring

    std::string label() const {
        return std::string(local ? "local " : "user ") +
               (state == State::refused && !local ? "?" : std::to_string(id)) + " in '" + room_names[room] + "'";
    }
};

/** A message a participant sends, with what the hub must do with it. */
struct Template {
    const char* text;  // %T is replaced by the recipient's ID
    enum Outcome { route, route_if_policy, error } outcome;
    const char* code;  // for `error`
    bool local_ok;     // a local participant can send it (nlohmann parses and dumps it to the same message)
};

const Template templates[] = {
    {R"({"type":"peer-candidate","to":%T,"candidate":{"candidate":"candidate:1 1 udp 1 192.0.2.1 9 typ host","sdpMid":"0"}})",
     Template::route, "", true},
    {R"({"type":"peer-connect","to":%T,"desc":{"type":"offer","sdp":"v=0\r\n"}})", Template::route, "", true},
    {R"({"type":"peer-response","from":12345,"to":%T,"desc":{"type":"answer","sdp":"v=0\r\n"}})", Template::route, "",
     true},
    {R"({"type":"chat","to":%T,"text":"hi \u00e9"})", Template::route_if_policy, "unknown-type", true},
    {R"({"type":"peer-candidate","to":%T,"candidate":42})", Template::error, "invalid-message", true},
    {R"({"type":"user-left","to":%T,"userId":1})", Template::error, "forbidden", true},
    {R"({"to":%T})", Template::error, "invalid-message", true},
    {R"({"type":"chat","to":%T,"to":%T})", Template::error, "invalid-message", false},
    {R"({"type":"peer-connect","to":%T,"desc":)", Template::error, "invalid-json", false},
    {R"([%T])", Template::error, "invalid-message", true},
    {R"({"type":"peer-candidate","to":-%T,"candidate":null})", Template::error, "invalid-message",
     false},  // nlohmann would send -0 as 0
};
constexpr std::size_t template_count = sizeof templates / sizeof templates[0];

json presence(const char* type, UserId id) {
    if (std::string_view(type) == "user-joined") return {{"type", type}, {"userId", id}, {"profile", json::object()}};
    return {{"type", type}, {"userId", id}};
}

/** `got` with a well-formed resume token ("<userId>.<32 hex>") replaced by "<token>", as the model expects it. */
json without_token(json got) {
    auto token = got.find("resume");
    if (got.value("type", "") != "login" || token == got.end() || !token->is_string()) return got;
    const auto& t = token->get_ref<const std::string&>();
    const auto prefix = std::to_string(got.value("userId", UserId(0))) + ".";
    bool ok = t.size() == prefix.size() + 32 && t.compare(0, prefix.size(), prefix) == 0;
    for (std::size_t i = prefix.size(); ok && i < t.size(); ++i)
        ok = (t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f');
    if (ok) *token = "<token>";
    return got;
}

class World {
public:
    explicit World(bool route_unknown)
        : route_unknown_(route_unknown), hub_([&] {
              switchboard::Options o;
              o.unknown_types =
                  route_unknown ? switchboard::UnknownTypePolicy::route : switchboard::UnknownTypePolicy::reject;
              o.limits.rate_per_second = 0;
              o.limits.max_users_per_room = max_users_per_room;
              o.limits.max_rooms = max_rooms;
              return o;
          }()) {}

    ~World() {
        // Local participants must go before the hub; their handlers write here.
        for (auto& p : people_)
            p->participant.reset();
    }

    void open_remote(int room) {
        auto& p = add(false, room);
        p.connection = std::make_shared<Recording>();
        switchboard::Handshake h;
        h.path = room_paths[room];
        h.remote_address = "192.0.2.7";
        auto admission = hub_.admit(std::move(h));
        FUZZ_CHECK(admission, "admission refused for " + std::string(room_paths[room]));
        const auto refusal = predict_join(p);
        p.session = hub_.open(std::move(admission), p.connection);
        FUZZ_CHECK((p.session == nullptr) == refusal.has_value(),
                   p.label() + (p.session ? " joined" : " was refused") + ", expected " +
                       (refusal ? "refusal " + *refusal : std::string("a join")));
        if (p.session) {
            joined(p, p.session->id());
        } else {
            p.state = State::refused;
            ++refused_;
            FUZZ_CHECK(p.connection->closes == std::vector<int>{switchboard::close_code::try_again_later},
                       p.label() + " refused without one close with 1013");
        }
        verify("open a user in " + std::string(room_paths[room]));
    }

    void join_local(int room, bool host) {
        const bool host_taken = std::any_of(people_.begin(), people_.end(), [](const auto& q) {
            return q->local && q->state == State::joined && q->id == switchboard::host_user_id;
        });
        auto& p = add(true, room);
        const std::size_t index = people_.size() - 1;
        auto handler = [this, index](const json& m) { people_[index]->received.push_back(m); };
        const auto which = host ? switchboard::Hub::LocalId::host : switchboard::Hub::LocalId::fresh;
        if (host && host_taken) {
            bool threw = false;
            try {
                hub_.join_local(room_names[room], handler, which);
            } catch (const std::logic_error&) {
                threw = true;
            }
            FUZZ_CHECK(threw, "a second local participant got ID 0");
            p.state = State::refused;
            verify("join a second host participant");
            return;
        }
        const auto refusal = predict_join(p);
        try {
            p.participant = hub_.join_local(room_names[room], handler, which);
        } catch (const std::runtime_error& e) {
            FUZZ_CHECK(refusal.has_value(), p.label() + " was refused: " + e.what());
            p.state = State::refused;
            ++refused_;
            verify("join a local participant (refused)");
            return;
        }
        FUZZ_CHECK(!refusal, p.label() + " joined, expected refusal " + refusal.value_or(""));
        FUZZ_CHECK(!host || p.participant->id() == switchboard::host_user_id, "the host participant is not ID 0");
        joined(p, p.participant->id());
        verify(host ? "join the host participant" : "join a local participant");
    }

    void leave(std::size_t who) {
        if (people_.empty()) return;
        auto& p = *people_[who % people_.size()];
        if (p.state == State::refused) return;
        if (p.local)
            p.participant->leave();
        else
            hub_.leave(*p.session);
        if (p.state == State::joined) {
            p.state = State::left;
            for (auto& q : people_)
                if (q.get() != &p && q->state == State::joined && q->room == p.room)
                    q->expected.push_back(presence("user-left", p.id));
        }
        verify("leave " + p.label());
    }

    void send_template(std::size_t who, std::size_t which, std::size_t to) {
        if (people_.empty()) return;
        auto& p = *people_[who % people_.size()];
        const Template& t = templates[which % template_count];
        if (p.state == State::refused || (p.local && !t.local_ok)) return;
        const UserId target = target_id(to);
        std::string text = t.text;
        for (auto at = text.find("%T"); at != std::string::npos; at = text.find("%T"))
            text.replace(at, 2, std::to_string(target));
        if (p.local)
            p.participant->send(json::parse(text));
        else
            hub_.receive(*p.session, text);
        if (p.state == State::joined) {
            const bool routes =
                t.outcome == Template::route || (t.outcome == Template::route_if_policy && route_unknown_);
            if (!routes) {
                p.expected.push_back(error(t.code));
            } else if (Participant* r = member(p.room, target)) {
                json m = json::parse(text);
                m.erase("to");
                m["from"] = p.id;
                r->expected.push_back(m);
                ++routed_;
            } else {
                p.expected.push_back(error("unknown-recipient"));
            }
        }
        verify(p.label() + " sends " + text);
    }

    void send_raw(std::size_t who, std::string_view bytes) {
        if (people_.empty()) return;
        auto& p = *people_[who % people_.size()];
        if (p.local || p.state == State::refused) return;
        hub_.receive(*p.session, bytes);
        // Which one happens depends on the bytes; that the rest stays quiet does not.
        std::vector<Participant*> got;
        for (auto& q : people_)
            if (inbox_size(*q) > q->seen) got.push_back(q.get());
        const std::string what = p.label() + " sends raw " + printable(bytes);
        if (p.state != State::joined) {
            FUZZ_CHECK(got.empty(), what + ": a user who left was answered");
        } else {
            FUZZ_CHECK(got.size() == 1 && inbox_size(*got[0]) == got[0]->seen + 1,
                       what + ": " + std::to_string(got.size()) + " participants got something, expected one message");
            Participant& r = *got[0];
            json m = message_at(r, r.seen);
            const bool is_error = m.value("type", "") == "error" && !m.contains("from");
            if (is_error) {
                FUZZ_CHECK(&r == &p, what + ": " + r.label() + " got the error");
            } else {
                FUZZ_CHECK(r.state == State::joined && r.room == p.room, what + ": delivered to " + r.label());
                FUZZ_CHECK(m.value("from", json()) == json(p.id), what + ": delivered as " + m.dump());
                ++routed_;
            }
            r.expected.push_back(m);
        }
        verify(what);
    }

private:
    Participant& add(bool local, int room) {
        people_.push_back(std::make_unique<Participant>());
        auto& p = *people_.back();
        p.local = local;
        p.room = room;
        return p;
    }

    std::size_t members_of(int room) const {
        return static_cast<std::size_t>(std::count_if(people_.begin(), people_.end(), [&](const auto& q) {
            return q->state == State::joined && q->room == room;
        }));
    }

    std::size_t rooms_open() const {
        std::size_t n = 0;
        for (int r = 0; r < room_count; ++r)
            n += members_of(r) > 0;
        return n;
    }

    std::size_t joined_count() const {
        return static_cast<std::size_t>(
            std::count_if(people_.begin(), people_.end(), [](const auto& q) { return q->state == State::joined; }));
    }

    /** The refusal `p` must get, if any; when it will join, what the others must be told is added later. */
    std::optional<std::string> predict_join(Participant& p) {
        std::optional<std::string> refusal;
        if (members_of(p.room) == 0 && rooms_open() >= max_rooms)
            refusal = "too-many-rooms";
        else if (members_of(p.room) >= max_users_per_room)
            refusal = "room-full";
        if (refusal) p.expected.push_back(error(*refusal));
        return refusal;
    }

    void joined(Participant& p, UserId id) {
        // Fresh IDs are never reused; the host's 0 only once its holder left.
        for (auto& q : people_) {
            const bool other = q.get() != &p && q->state != State::refused;
            const bool clash = q->id == id && (id != switchboard::host_user_id || q->state == State::joined);
            FUZZ_CHECK(!(other && clash), "ID " + std::to_string(id) + " handed out twice");
        }
        FUZZ_CHECK(p.local || id != switchboard::host_user_id, "a remote user got ID 0");
        p.id = id;
        p.state = State::joined;
        std::vector<UserId> present;
        for (auto& q : people_)
            if (q.get() != &p && q->state == State::joined && q->room == p.room) {
                present.push_back(q->id);
                q->expected.push_back(presence("user-joined", id));
            }
        std::sort(present.begin(), present.end());
        json login = {{"type", "login"}, {"userId", id}, {"users", present}, {"profile", json::object()}};
        auto& profiles = login["profiles"] = json::object();
        for (auto other : present)
            profiles[std::to_string(other)] = json::object();
        if (!p.local) login["resume"] = "<token>";  // remote users may resume; a local participant cannot
        p.expected.push_back(std::move(login));
        ++total_;
    }

    UserId target_id(std::size_t to) const {
        const std::size_t n = people_.size();
        const std::size_t pick = to % (n + 2);
        if (pick == n) return switchboard::host_user_id;
        if (pick == n + 1) return nobody;
        const auto& q = *people_[pick];
        return q.state == State::refused ? nobody : q.id;
    }

    Participant* member(int room, UserId id) {
        for (auto& q : people_)
            if (q->state == State::joined && q->room == room && q->id == id) return q.get();
        return nullptr;
    }

    static json error(const std::string& code) { return {{"type", "error"}, {"code", code}}; }

    static std::size_t inbox_size(const Participant& p) {
        return p.local ? p.received.size() : p.connection->sent.size();
    }

    static json message_at(const Participant& p, std::size_t i) {
        if (p.local) return p.received[i];
        const std::string& text = p.connection->sent[i];
        FUZZ_CHECK(json::accept(text), p.label() + " was sent text that is not JSON: " + printable(text));
        return json::parse(text);
    }

    /** Every participant got exactly what was expected since the last check; counters agree. */
    void verify(const std::string& step) {
        for (auto& q : people_) {
            Participant& p = *q;
            std::vector<json> got;
            for (std::size_t i = p.seen; i < inbox_size(p); ++i)
                got.push_back(without_token(message_at(p, i)));
            bool same = got.size() == p.expected.size();
            for (std::size_t i = 0; same && i < got.size(); ++i) {
                if (p.expected[i].value("type", "") == "error" && p.expected[i].size() == 2) {
                    // An error: the code must match; the sentence and request echo are free.
                    same = got[i].value("type", "") == "error" && got[i].value("code", "") == p.expected[i]["code"] &&
                           got[i].contains("message") && got[i]["message"].is_string() &&
                           !got[i]["message"].get_ref<const std::string&>().empty();
                } else {
                    same = got[i] == p.expected[i];
                }
            }
            FUZZ_CHECK(same, "after: " + step + "\n  " + p.label() + " got " + json(got).dump() + "\n  expected " +
                                 json(p.expected).dump());
            p.seen = inbox_size(p);
            p.expected.clear();
        }
        const auto c = hub_.counters();
        FUZZ_CHECK(c.connections_open == joined_count() && c.rooms_open == rooms_open() &&
                       c.connections_total == total_ && c.connections_refused == refused_ &&
                       c.messages_routed == routed_,
                   "after: " + step + "\n  counters open " + std::to_string(c.connections_open) + ", rooms " +
                       std::to_string(c.rooms_open) + ", total " + std::to_string(c.connections_total) + ", refused " +
                       std::to_string(c.connections_refused) + ", routed " + std::to_string(c.messages_routed) +
                       "; model " + std::to_string(joined_count()) + ", " + std::to_string(rooms_open()) + ", " +
                       std::to_string(total_) + ", " + std::to_string(refused_) + ", " + std::to_string(routed_));
    }

    const bool route_unknown_;
    switchboard::Hub hub_;
    std::vector<std::unique_ptr<Participant>> people_;
    std::uint64_t total_ = 0, refused_ = 0, routed_ = 0;
};

/** Reads the operation bytes; running out ends the sequence. */
class Reader {
public:
    Reader(const std::uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}
    bool more() const { return p_ != end_; }
    std::optional<std::size_t> byte() {
        if (p_ == end_) return std::nullopt;
        return *p_++;
    }
    std::string_view bytes(std::size_t n) {
        n = std::min(n, static_cast<std::size_t>(end_ - p_));
        std::string_view out(reinterpret_cast<const char*>(p_), n);
        p_ += n;
        return out;
    }

private:
    const std::uint8_t* p_;
    const std::uint8_t* end_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    World world(data[0] & 1);
    Reader in(data + 1, size - 1);
    for (int step = 0; step < 256 && in.more(); ++step) {
        const std::size_t op = *in.byte() % 6;
        auto a = in.byte();
        if (!a) break;
        switch (op) {
            case 0:
                world.open_remote(static_cast<int>(*a % room_count));
                break;
            case 1:
                world.leave(*a);
                break;
            case 2: {
                auto which = in.byte(), to = in.byte();
                if (!which || !to) return 0;
                world.send_template(*a, *which, *to);
                break;
            }
            case 3: {
                auto n = in.byte();
                if (!n) return 0;
                world.send_raw(*a, in.bytes(*n));
                break;
            }
            case 4:
                world.join_local(static_cast<int>(*a % room_count), false);
                break;
            case 5:
                world.join_local(static_cast<int>(*a % room_count), true);
                break;
        }
    }
    return 0;
}

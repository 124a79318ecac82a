// Several threads opening, messaging and leaving at once. Bounded in
// iterations (not time), so it runs the same under TSan; all assertions are
// made on the main thread after the workers joined.
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "unit_helpers.hpp"

using namespace switchboard;
using namespace switchboard::test;
using nlohmann::json;

namespace {

constexpr int worker_count = 4;
constexpr int iterations = 400;
constexpr int rooms = 3;
constexpr std::size_t max_live_per_worker = 4;

const char* const room_paths[rooms] = {"/", "/room/a", "/room/b"};

/** Every ID ever opened, by room: the "known peers" workers address. */
class Registry {
public:
    void add(int room, UserId id) {
        std::lock_guard lock(mutex_);
        ids_[room].push_back(id);
    }
    /** A known ID of `room`, or nullopt if none yet. */
    std::optional<UserId> pick(int room, std::mt19937& rng) {
        std::lock_guard lock(mutex_);
        auto& ids = ids_[room];
        if (ids.empty()) return std::nullopt;
        return ids[std::uniform_int_distribution<std::size_t>(0, ids.size() - 1)(rng)];
    }

private:
    std::mutex mutex_;
    std::vector<UserId> ids_[rooms];
};

struct Opened {
    TestUser user;
    int room;
};

std::string routed_message(int kind, UserId to) {
    switch (kind) {
        case 0:
            return peer_connect(to, R"(,"n":1.50e+10)");
        case 1:
            return fmt::format(R"({{"type":"peer-response","to":{},"desc":{{"type":"answer","sdp":"v=0"}}}})", to);
        default:
            return fmt::format(R"({{"type":"peer-candidate","to":{},"candidate":null}})", to);
    }
}

}  // namespace

TEST_CASE("stress: threads open, message and leave concurrently, counters stay consistent", "[stress][threads]") {
    Options options;
    options.limits.rate_per_second = 0;
    Hub hub(options);
    std::atomic<int> join_events{0}, leave_events{0};
    hub.on_join([&](const UserEvent&) { join_events.fetch_add(1, std::memory_order_relaxed); });
    hub.on_leave([&](const UserEvent&) { leave_events.fetch_add(1, std::memory_order_relaxed); });

    Registry registry;
    std::vector<std::vector<Opened>> opened(worker_count);
    std::vector<std::uint64_t> sent(worker_count, 0);
    std::vector<std::thread> workers;
    for (int w = 0; w < worker_count; ++w) {
        workers.emplace_back([&, w] {
            std::mt19937 rng(static_cast<std::mt19937::result_type>(1234 + w));
            auto roll = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
            std::vector<std::size_t> live;  // indices into opened[w]
            for (int i = 0; i < iterations; ++i) {
                int action = roll(10);
                if (live.empty() || (action < 2 && live.size() < max_live_per_worker)) {
                    int room = roll(rooms);
                    auto user = join(hub, room_paths[room]);
                    registry.add(room, user.id());
                    opened[w].push_back({user, room});
                    live.push_back(opened[w].size() - 1);
                } else if (action < 3) {
                    auto pos = static_cast<std::size_t>(roll(static_cast<int>(live.size())));
                    hub.leave(*opened[w][live[pos]].user.session);
                    live.erase(live.begin() + static_cast<std::ptrdiff_t>(pos));
                } else {
                    auto& from = opened[w][live[static_cast<std::size_t>(roll(static_cast<int>(live.size())))]];
                    int target_room = roll(10) == 0 ? roll(rooms) : from.room;  // sometimes another room
                    auto to = registry.pick(target_room, rng).value_or(max_user_id);
                    from.user.send(hub, routed_message(roll(3), to));
                    ++sent[static_cast<std::size_t>(w)];
                }
            }
            for (auto index : live)
                hub.leave(*opened[w][index].user.session);
        });
    }
    for (auto& t : workers)
        t.join();

    std::uint64_t total_sent = 0, total_opened = 0;
    for (int w = 0; w < worker_count; ++w) {
        total_sent += sent[static_cast<std::size_t>(w)];
        total_opened += opened[static_cast<std::size_t>(w)].size();
    }
    REQUIRE(total_sent > 0);

    auto c = hub.counters();
    CHECK(c.connections_open == 0);
    CHECK(c.rooms_open == 0);
    CHECK(c.connections_total == total_opened);
    CHECK(c.connections_refused == 0);
    CHECK(c.messages_received == total_sent);
    std::uint64_t unknown = c.errors.count("unknown-recipient") ? c.errors.at("unknown-recipient") : 0;
    CHECK(c.messages_routed + unknown == total_sent);
    CHECK(c.errors.size() == (unknown ? 1u : 0u));  // no other error
    CHECK(c.messages_routed > 0);
    CHECK(join_events.load() == static_cast<int>(total_opened));
    CHECK(leave_events.load() == static_cast<int>(total_opened));

    // Per connection: login first, with its own ID; messages only from
    // users it already knew about and had not seen leave; errors only
    // unknown-recipient; deliveries add up to messages_routed.
    std::map<UserId, int> room_of;
    for (auto& list : opened)
        for (auto& o : list)
            CHECK(room_of.emplace(o.user.id(), o.room).second);  // IDs unique
    std::uint64_t delivered = 0, errors = 0;
    for (auto& list : opened) {
        for (auto& o : list) {
            auto msgs = o.user.connection->messages();
            REQUIRE_FALSE(msgs.empty());
            CHECK(msgs[0].at("type") == "login");
            CHECK(msgs[0].at("userId") == o.user.id());
            std::set<UserId> known, gone;
            for (auto& id : msgs[0].at("users"))
                known.insert(id.get<UserId>());
            for (std::size_t i = 1; i < msgs.size(); ++i) {
                const auto& m = msgs[i];
                const auto type = m.at("type").get<std::string>();
                if (type == "login") {
                    FAIL_CHECK("a second login");
                } else if (type == "user-joined") {
                    known.insert(m.at("userId").get<UserId>());
                } else if (type == "user-left") {
                    gone.insert(m.at("userId").get<UserId>());
                } else if (type == "error") {
                    CHECK(m.at("code") == "unknown-recipient");
                    ++errors;
                } else {
                    ++delivered;
                    auto from = m.at("from").get<UserId>();
                    CHECK_FALSE(m.contains("to"));
                    CHECK(room_of.at(from) == o.room);
                    if (from != o.user.id()) {
                        CHECK(known.count(from) == 1);
                        CHECK(gone.count(from) == 0);
                    }
                }
            }
        }
    }
    CHECK(delivered == c.messages_routed);
    CHECK(errors == unknown);
}

TEST_CASE("stress: one session leaving while another thread routes to it", "[stress][threads]") {
    Options options;
    options.limits.rate_per_second = 0;
    Hub hub(options);
    constexpr int rounds = 50;
    constexpr int per_round = 20;
    auto sender = join(hub);
    std::uint64_t routed_to_target = 0;
    for (int r = 0; r < rounds; ++r) {
        auto target = join(hub);
        auto id = target.id();
        std::thread messenger([&] {
            for (int i = 0; i < per_round; ++i)
                sender.send(hub, peer_connect(id));
        });
        std::thread leaver([&] {
            hub.leave(*target.session);
            hub.leave(*target.session);
        });
        messenger.join();
        leaver.join();
        for (auto& m : target.connection->messages())
            routed_to_target += m.contains("from") ? 1 : 0;
    }
    auto c = hub.counters();
    CHECK(c.connections_open == 1);
    CHECK(c.messages_routed == routed_to_target);
    auto unknown = c.errors.count("unknown-recipient") ? c.errors.at("unknown-recipient") : 0;
    CHECK(c.messages_routed + unknown == std::uint64_t{rounds} * per_round);
    // The sender saw each target join and leave exactly once.
    auto msgs = sender.connection->messages();
    auto count = [&](const char* type) {
        return std::count_if(msgs.begin(), msgs.end(), [&](const json& m) { return m.at("type") == type; });
    };
    CHECK(count("user-joined") == rounds);
    CHECK(count("user-left") == rounds);
    hub.leave(*sender.session);
    CHECK(hub.counters().rooms_open == 0);
}

TEST_CASE("stress: local participants join and leave while remote users message them", "[stress][threads][local]") {
    Options options;
    options.limits.rate_per_second = 0;
    Hub hub(options);
    constexpr int rounds = 40;
    std::atomic<std::uint64_t> handled{0};
    auto remote = join(hub);
    std::thread hosts([&] {
        for (int r = 0; r < rounds; ++r) {
            auto host = hub.join_local("", [&](const json& m) {
                if (m.contains("from")) handled.fetch_add(1, std::memory_order_relaxed);
            });
            host->leave();
        }
    });
    std::uint64_t sent = 0;
    for (int i = 0; i < rounds * 10; ++i, ++sent)
        remote.send(hub, peer_connect(0));
    hosts.join();
    auto c = hub.counters();
    CHECK(c.messages_routed == handled.load());
    auto unknown = c.errors.count("unknown-recipient") ? c.errors.at("unknown-recipient") : 0;
    CHECK(c.messages_routed + unknown == sent);
    CHECK(c.connections_open == 1);
}

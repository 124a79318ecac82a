// Each configurable limit: defaults, the boundary, and what happens past it.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "unit_helpers.hpp"

using namespace switchboard;
using namespace switchboard::test;
using nlohmann::json;

namespace {

/** A routable message to `to` exactly `size` bytes long (padding in a string member). */
std::string message_of_size(UserId to, std::size_t size) {
    auto base = peer_connect(to, R"(,"pad":"")");
    REQUIRE(size >= base.size());
    auto text = peer_connect(to, R"(,"pad":")" + std::string(size - base.size(), 'x') + "\"");
    REQUIRE(text.size() == size);
    return text;
}

/** A routable message whose deepest value sits at nesting `depth` (the message is 1). */
std::string message_of_depth(UserId to, int depth) {
    std::string value;
    for (int i = 1; i < depth; ++i)
        value += i % 2 ? "[" : R"({"k":)";
    value += "0";
    for (int i = depth - 1; i >= 1; --i)
        value += i % 2 ? "]" : "}";
    return peer_connect(to, R"(,"deep":)" + value);
}

}  // namespace

TEST_CASE("the defaults are the documented ones", "[limits]") {
    Limits limits;
    CHECK(limits.max_message_bytes == 65536);
    CHECK(limits.max_json_depth == 32);
    CHECK(limits.max_users_per_room == 256);
    CHECK(limits.max_rooms == 10000);
    CHECK(limits.rate_per_second == 200);
    CHECK(limits.rate_burst == 2000);
    Options options;
    CHECK(options.unknown_types == UnknownTypePolicy::reject);
    CHECK(options.allowed_origins.empty());
    CHECK_FALSE(options.log_sink);
    Hub hub;
    CHECK(hub.options().limits.max_message_bytes == 65536);
}

TEST_CASE("message size: the limit itself is accepted, one byte more is not", "[limits][size]") {
    SECTION("default 64 KiB") {
        Options options;
        options.limits.rate_per_second = 0;
        Hub hub(options);
        auto users = join_quietly(hub, 2);
        users[0].send(hub, message_of_size(2, 65536));
        CHECK(take_one(users[1]).at("type") == "peer-connect");
        CHECK(error_code(hub, users[0], message_of_size(2, 65537)) == "message-too-large");
        CHECK(users[1].connection->take().empty());
    }
    SECTION("configured") {
        Options options;
        options.limits.max_message_bytes = 200;
        Hub hub(options);
        auto users = join_quietly(hub, 2);
        users[0].send(hub, message_of_size(2, 200));
        CHECK(take_one(users[1]).at("type") == "peer-connect");
        auto e = error_for(hub, users[0], message_of_size(2, 201));
        CHECK(e.at("code") == "message-too-large");
        CHECK(e.at("message").get<std::string>().find("200") != std::string::npos);
        CHECK(users[1].connection->take().empty());
    }
}

TEST_CASE("nesting depth: the limit itself is accepted, one level more is not", "[limits][depth]") {
    SECTION("default 32") {
        Hub hub;
        auto users = join_quietly(hub, 2);
        users[0].send(hub, message_of_depth(2, 32));
        CHECK(take_one(users[1]).contains("deep"));
        CHECK(error_code(hub, users[0], message_of_depth(2, 33)) == "invalid-json");
    }
    SECTION("configured") {
        Options options;
        options.limits.max_json_depth = 4;
        Hub hub(options);
        auto users = join_quietly(hub, 2);
        // peer-connect's desc is already at depth 2.
        users[0].send(hub, message_of_depth(2, 4));
        CHECK(take_one(users[1]).contains("deep"));
        CHECK(error_code(hub, users[0], message_of_depth(2, 5)) == "invalid-json");
        CHECK(users[1].connection->take().empty());
    }
    SECTION("depth 1 leaves no room for desc") {
        Options options;
        options.limits.max_json_depth = 1;
        Hub hub(options);
        auto users = join_quietly(hub, 2);
        CHECK(error_code(hub, users[0], peer_connect(2)) == "invalid-json");
        users[0].send(hub, R"({"type":"peer-candidate","to":2,"candidate":null})");
        CHECK(take_one(users[1]).at("type") == "peer-candidate");
    }
}

TEST_CASE("users per room: the next one gets room-full and is closed, the others are unaffected",
          "[limits][room-full]") {
    Options options;
    options.limits.max_users_per_room = 3;
    Hub hub(options);
    auto users = join_quietly(hub, 3, "/room/r");

    auto refused = join(hub, "/room/r");
    CHECK_FALSE(refused.session);
    auto msgs = refused.connection->messages();
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0].at("code") == "room-full");
    CHECK(msgs[0].at("message").get<std::string>().find('3') != std::string::npos);
    CHECK(refused.connection->closed());
    CHECK(refused.connection->close_code() == 1013);

    for (auto& u : users) {
        CHECK(u.connection->take().empty());  // no user-joined for the refused one
        CHECK_FALSE(u.connection->closed());
    }
    users[0].send(hub, peer_connect(users[2].id()));
    CHECK(take_one(users[2]).at("from") == users[0].id());

    // Other rooms are not affected by this room's limit.
    CHECK(join(hub, "/room/s").session);
    CHECK(join(hub, "/").session);

    auto c = hub.counters();
    CHECK(c.connections_open == 5);
    CHECK(c.connections_refused == 1);
    CHECK(c.errors.at("room-full") == 1);

    // A place frees up when someone leaves.
    hub.leave(*users[1].session);
    auto next = join(hub, "/room/r");
    REQUIRE(next.session);
    CHECK(next.connection->take().at(0).at("users").size() == 2);
}

TEST_CASE("open rooms: one more room gets too-many-rooms, existing rooms still admit", "[limits][too-many-rooms]") {
    Options options;
    options.limits.max_rooms = 2;
    Hub hub(options);
    auto a = join(hub, "/room/a");
    auto b = join(hub, "/");
    REQUIRE(a.session);
    REQUIRE(b.session);

    auto c = join(hub, "/room/c");
    CHECK_FALSE(c.session);
    auto msgs = c.connection->messages();
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0].at("code") == "too-many-rooms");
    CHECK(c.connection->close_code() == close_code::try_again_later);

    CHECK(join(hub, "/room/a").session);
    CHECK(join(hub, "/").session);
    CHECK(hub.counters().rooms_open == 2);
    CHECK(hub.counters().errors.at("too-many-rooms") == 1);
}

TEST_CASE("open rooms: a room frees its slot when its last user leaves", "[limits][too-many-rooms]") {
    Options options;
    options.limits.max_rooms = 1;
    Hub hub(options);
    auto a = join(hub, "/room/a");
    CHECK_FALSE(join(hub, "/room/b").session);
    hub.leave(*a.session);
    CHECK(join(hub, "/room/b").session);
}

TEST_CASE("per address: one address cannot open more rooms than its share", "[limits][per-address]") {
    Options options;
    options.limits.max_rooms_per_address = 3;
    Hub hub(options);
    std::vector<TestUser> mine;
    for (int i = 0; i < 3; ++i) {
        mine.push_back(join(hub, "/room/r" + std::to_string(i), "192.0.2.1"));
        REQUIRE(mine.back().session);
    }
    auto fourth = join(hub, "/room/r3", "192.0.2.1");
    CHECK_FALSE(fourth.session);
    auto msgs = fourth.connection->messages();
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0].at("code") == "too-many-rooms");
    CHECK(msgs[0].at("message").get<std::string>().find("your address") != std::string::npos);
    CHECK(fourth.connection->close_code() == close_code::try_again_later);
    // It may still join rooms that exist, and others may open rooms.
    CHECK(join(hub, "/room/r0", "192.0.2.1").session);
    CHECK(join(hub, "/room/other", "192.0.2.2").session);
    // A room it opened counts until the room closes, even after it left.
    auto guest = join(hub, "/room/r1", "192.0.2.2");
    hub.leave(*mine[1].session);
    CHECK_FALSE(join(hub, "/room/r9", "192.0.2.1").session);
    hub.leave(*guest.session);  // r1 is gone now
    CHECK(join(hub, "/room/r9", "192.0.2.1").session);
    CHECK(hub.counters().errors.at("too-many-rooms") == 2);
}

TEST_CASE("per address: connections beyond the limit get too-many-connections", "[limits][per-address]") {
    Options options;
    options.limits.max_connections_per_address = 2;
    Hub hub(options);
    auto a = join(hub, "/", "192.0.2.1");
    auto b = join(hub, "/room/x", "192.0.2.1");
    REQUIRE(a.session);
    REQUIRE(b.session);
    auto c = join(hub, "/", "192.0.2.1");
    CHECK_FALSE(c.session);
    REQUIRE(c.connection->messages().size() == 1);
    CHECK(c.connection->messages()[0].at("code") == "too-many-connections");
    CHECK(c.connection->close_code() == close_code::try_again_later);
    CHECK(join(hub, "/", "192.0.2.2").session);
    // Local participants are not counted against anyone.
    auto host = hub.join_local("", [](const json&) {});
    hub.leave(*a.session);
    CHECK(join(hub, "/", "192.0.2.1").session);
    CHECK(errors_counted(hub, "too-many-connections") == 1);
}

TEST_CASE("per address: 0 turns the limits off", "[limits][per-address]") {
    Options options;
    options.limits.max_connections_per_address = 0;
    options.limits.max_rooms_per_address = 0;
    Hub hub(options);
    std::vector<TestUser> users;
    for (int i = 0; i < 300; ++i) {
        users.push_back(join(hub, "/room/r" + std::to_string(i % 60), "192.0.2.1"));
        REQUIRE(users.back().session);
    }
}

TEST_CASE("the client address comes from forwarding headers only behind a trusted proxy", "[limits][proxy]") {
    auto at = [](std::string remote, std::vector<std::pair<std::string, std::string>> headers) {
        Handshake h;
        h.path = "/";
        h.remote_address = std::move(remote);
        h.headers = std::move(headers);
        return h;
    };
    const std::vector<std::string> proxies = {"10.0.0.1", "10.0.0.2"};
    // Not from a proxy: the headers are anybody's to forge.
    CHECK(client_address(at("192.0.2.9", {{"X-Forwarded-For", "203.0.113.5"}}), proxies) == "192.0.2.9");
    CHECK(client_address(at("192.0.2.9", {{"X-Forwarded-For", "203.0.113.5"}}), {}) == "192.0.2.9");
    // From a proxy: the last address that is not a proxy of ours.
    CHECK(client_address(at("10.0.0.1", {{"X-Forwarded-For", "203.0.113.5"}}), proxies) == "203.0.113.5");
    CHECK(client_address(at("10.0.0.1", {{"x-forwarded-for", "6.6.6.6, 203.0.113.5, 10.0.0.2"}}), proxies) ==
          "203.0.113.5");
    CHECK(client_address(at("10.0.0.1", {{"X-Forwarded-For", "6.6.6.6"}, {"X-Forwarded-For", "203.0.113.5"}}),
                         proxies) == "203.0.113.5");
    // Forwarded (RFC 7239) wins over X-Forwarded-For; quotes, brackets and ports go.
    CHECK(client_address(at("10.0.0.1", {{"Forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43"},
                                         {"X-Forwarded-For", "6.6.6.6"}}),
                         proxies) == "192.0.2.60");
    CHECK(client_address(at("10.0.0.2", {{"Forwarded", R"(for="[2001:db8:cafe::17]:4711", for=10.0.0.1)"}}), proxies) ==
          "2001:db8:cafe::17");
    CHECK(client_address(at("10.0.0.1", {{"Forwarded", "For=\"192.0.2.43:47011\""}}), proxies) == "192.0.2.43");
    // A proxy that forwarded nothing: the proxy itself.
    CHECK(client_address(at("10.0.0.1", {}), proxies) == "10.0.0.1");

    // Through the hub: the admission and the per-address limit use it.
    Options options;
    options.trusted_proxies = proxies;
    options.limits.max_connections_per_address = 1;
    Hub hub(options);
    auto first = hub.admit(at("10.0.0.1", {{"X-Forwarded-For", "203.0.113.5"}}));
    REQUIRE(first);
    CHECK(first.client_address() == "203.0.113.5");
    auto c1 = std::make_shared<MemoryConnection>();
    CHECK(hub.open(std::move(first), c1));
    auto c2 = std::make_shared<MemoryConnection>();
    CHECK_FALSE(hub.open(hub.admit(at("10.0.0.1", {{"X-Forwarded-For", "203.0.113.5"}})), c2));
    auto c3 = std::make_shared<MemoryConnection>();
    CHECK(hub.open(hub.admit(at("10.0.0.1", {{"X-Forwarded-For", "203.0.113.6"}})), c3));
}

TEST_CASE("rate: a burst passes, the next messages are dropped, with counts only", "[limits][rate]") {
    Options options;
    options.limits.rate_per_second = 1e-9;  // effectively no refill during the test
    options.limits.rate_burst = 5;
    Hub hub(options);
    auto users = join_quietly(hub, 2);
    for (int i = 0; i < 8; ++i)
        users[0].send(hub, peer_connect(2));
    auto answers = users[0].connection->take();
    CHECK(users[1].connection->take().size() == 5);
    REQUIRE(answers.size() == 3);
    for (auto& a : answers)
        CHECK(a.at("code") == "rate-limited");
    auto c = hub.counters();
    CHECK(c.messages_received == 8);
    CHECK(c.messages_routed == 5);
    CHECK(c.errors.at("rate-limited") == 3);
}

TEST_CASE("rate: invalid messages spend tokens like valid ones", "[limits][rate]") {
    Options options;
    options.limits.rate_per_second = 1e-9;
    options.limits.rate_burst = 2;
    Hub hub(options);
    auto users = join_quietly(hub, 2);
    CHECK(error_code(hub, users[0], "junk") == "invalid-json");
    CHECK(error_code(hub, users[0], R"({"type":"nope"})") == "unknown-type");
    CHECK(error_code(hub, users[0], peer_connect(2)) == "rate-limited");
}

TEST_CASE("rate: the bucket refills over time", "[limits][rate]") {
    // Only a lower bound on time is relied upon: after sleeping longer than
    // one token's worth, one more message must pass.
    Options options;
    options.limits.rate_per_second = 20;
    options.limits.rate_burst = 2;
    Hub hub(options);
    auto users = join_quietly(hub, 2);
    users[0].send(hub, peer_connect(2));
    users[0].send(hub, peer_connect(2));
    CHECK(users[1].connection->take().size() == 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    users[0].send(hub, peer_connect(2));
    CHECK(users[0].connection->take().empty());
    CHECK(users[1].connection->take().size() == 1);
}

TEST_CASE("rate: a burst below one token lets nothing through", "[limits][rate]") {
    Options options;
    options.limits.rate_per_second = 1e-9;
    options.limits.rate_burst = 0.5;
    Hub hub(options);
    auto users = join_quietly(hub, 2);
    CHECK(error_code(hub, users[0], peer_connect(2)) == "rate-limited");
}

TEST_CASE("rate: 0 per second disables the limit", "[limits][rate]") {
    Options options;
    options.limits.rate_per_second = 0;
    options.limits.rate_burst = 1;
    Hub hub(options);
    auto users = join_quietly(hub, 2);
    for (int i = 0; i < 500; ++i)
        users[0].send(hub, peer_connect(2));
    CHECK(users[1].connection->take().size() == 500);
    CHECK(users[0].connection->take().empty());
}

TEST_CASE("rate: the default burst passes in full", "[limits][rate]") {
    Hub hub;
    auto burst = static_cast<int>(hub.options().limits.rate_burst);
    REQUIRE(burst > 0);
    auto users = join_quietly(hub, 2);
    for (int i = 0; i < burst; ++i)
        users[0].send(hub, peer_connect(2));
    CHECK(users[1].connection->take().size() == static_cast<std::size_t>(burst));
    CHECK(users[0].connection->take().empty());
}

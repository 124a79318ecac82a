// Every error code the hub answers a client with, the shape of the `error`
// message, and that the offending message reaches nobody.
#include <string>
#include <vector>

#include "unit_helpers.hpp"

using namespace switchboard;
using namespace switchboard::test;
using nlohmann::json;

namespace {

/** Sends `text` from users[0], expects `code`, and checks that nobody else got anything. */
json expect_error(Hub& hub, std::vector<TestUser>& users, std::string_view text, std::string_view code) {
    INFO("sent: " << text);
    auto e = error_for(hub, users[0], text);
    CHECK(e.at("code") == code);
    for (std::size_t i = 1; i < users.size(); ++i)
        CHECK(users[i].connection->take().empty());
    return e;
}

void check_still_usable(Hub& hub, std::vector<TestUser>& users) {
    users[0].send(hub, peer_connect(users[1].id()));
    CHECK(take_one(users[1]).at("from") == users[0].id());
    CHECK(users[0].connection->take().empty());
    CHECK_FALSE(users[0].connection->closed());
}

}  // namespace

TEST_CASE("an error has type, code, a human message and what was read of the request", "[errors]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    auto e = expect_error(hub, users, peer_connect(42), "unknown-recipient");
    CHECK(e.at("type") == "error");
    REQUIRE(e.at("message").is_string());
    CHECK(e.at("message").get<std::string>().find("42") != std::string::npos);
    CHECK(e.at("request") == json::parse(R"({"type":"peer-connect","to":42})"));
    CHECK(e.size() == 4);
    // Like every other server message, an error names its type first.
    CHECK(users[0].connection->texts().back().rfind(R"({"type":"error","code":"unknown-recipient",)", 0) == 0);
    check_still_usable(hub, users);
}

TEST_CASE("invalid-json: not JSON at all, and no request is echoed", "[errors][invalid-json]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    for (std::string text : {"", "hello", "{", R"({"type":"peer-connect","to":2,)", R"({"type":'peer-connect'})",
                             R"({"type":"peer-connect","to":2,"desc":{"type":"offer","sdp":""},})"}) {
        auto e = expect_error(hub, users, text, "invalid-json");
        CHECK_FALSE(e.contains("request"));
        CHECK_FALSE(e.at("message").get<std::string>().empty());
    }
    check_still_usable(hub, users);
    CHECK(errors_counted(hub, "invalid-json") == 6);
}

TEST_CASE("invalid-json: bad UTF-8", "[errors][invalid-json][utf8]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    for (const char* bytes : {"\xFF", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82"}) {
        expect_error(hub, users, peer_connect(2, std::string(R"(,"note":")") + bytes + "\""), "invalid-json");
        expect_error(hub, users, std::string(R"({"type":"peer-connect","to":2,")") + bytes + R"(":1})", "invalid-json");
    }
    check_still_usable(hub, users);
}

TEST_CASE("invalid-json: lone surrogate escapes", "[errors][invalid-json][utf8]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    for (const char* value : {R"("\ud800")", R"("\udfff")", R"("a\ud83dz")", R"("\ude00\ud83d")"})
        expect_error(hub, users, peer_connect(2, std::string(R"(,"note":)") + value), "invalid-json");
    // A proper pair is fine.
    users[0].send(hub, peer_connect(2, R"(,"note":"\ud83d\ude00")"));
    CHECK(take_one(users[1]).at("note") == "\xF0\x9F\x98\x80");
}

TEST_CASE("invalid-json: trailing garbage after the object", "[errors][invalid-json]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    for (const std::string& tail :
         std::vector<std::string>{"x", "{}", ",", R"({"type":"peer-connect","to":2})", "]", std::string(1, '\0')})
        expect_error(hub, users, peer_connect(2) + tail, "invalid-json");
    check_still_usable(hub, users);
}

TEST_CASE("invalid-json: nesting deeper than the limit", "[errors][invalid-json][limits]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    std::string deep = R"(,"x":)" + std::string(40, '[') + std::string(40, ']');
    auto e = expect_error(hub, users, peer_connect(2, deep), "invalid-json");
    CHECK_FALSE(e.contains("request"));
    check_still_usable(hub, users);
}

TEST_CASE("invalid-message: JSON that is not an object", "[errors][invalid-message]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    for (const char* text : {"[]", R"(["peer-connect",2])", "2", R"("peer-connect")", "null", "true"}) {
        auto e = expect_error(hub, users, text, "invalid-message");
        CHECK_FALSE(e.contains("request"));
    }
    check_still_usable(hub, users);
}

TEST_CASE("invalid-message: a missing or non-string type", "[errors][invalid-message]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    for (const char* text :
         {R"({})", R"({"to":2,"desc":{"type":"offer","sdp":""}})", R"({"type":null,"to":2})", R"({"type":1,"to":2})",
          R"({"type":["peer-connect"],"to":2})", R"({"type":{"name":"peer-connect"},"to":2})",
          R"({"type":"peer-connect","type":5,"to":2})", R"({"Type":"peer-connect","to":2})"}) {
        auto e = expect_error(hub, users, text, "invalid-message");
        CHECK_FALSE(e.contains("request"));
    }
    check_still_usable(hub, users);
}

TEST_CASE("invalid-message: to must be an integer ID written plainly", "[errors][invalid-message]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    for (std::string to : {"-1", "-0", "1.0", "2.0", "1e3", "2E0", "0.2e1", R"("2")", "null", "true", "[2]",
                           R"({"id":2})", "9007199254740992", "18446744073709551616", "99999999999999999999999999"}) {
        auto text = R"({"type":"peer-connect","to":)" + to + R"(,"desc":{"type":"offer","sdp":""}})";
        auto e = expect_error(hub, users, text, "invalid-message");
        CHECK(e.at("request") == json::parse(R"({"type":"peer-connect"})"));
    }
    SECTION("missing to") {
        auto e = expect_error(hub, users, R"({"type":"peer-candidate","candidate":null})", "invalid-message");
        CHECK(e.at("request") == json::parse(R"({"type":"peer-candidate"})"));
    }
    check_still_usable(hub, users);
}

TEST_CASE("the largest ID is a well-formed to", "[errors][unknown-recipient]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    auto e = expect_error(hub, users, peer_connect(max_user_id), "unknown-recipient");
    CHECK(e.at("request").at("to") == max_user_id);
}

TEST_CASE("invalid-message: a desc or candidate that fails its type's checks", "[errors][invalid-message]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    for (const char* text : {
             R"({"type":"peer-connect","to":2})",
             R"({"type":"peer-connect","to":2,"desc":null})",
             R"({"type":"peer-connect","to":2,"desc":"v=0"})",
             R"({"type":"peer-connect","to":2,"desc":{"type":"offer"}})",
             R"({"type":"peer-connect","to":2,"desc":{"type":"offer","sdp":7}})",
             R"({"type":"peer-connect","to":2,"desc":{"type":"bogus","sdp":""}})",
             R"({"type":"peer-connect","to":2,"desc":{"sdp":""}})",
             R"({"type":"peer-response","to":2,"desc":{"type":"answer"}})",
             R"({"type":"peer-response","to":2,"desc":{"type":"ANSWER","sdp":""}})",
         }) {
        auto e = expect_error(hub, users, text, "invalid-message");
        CHECK(e.at("request").at("to") == 2);
        CHECK(e.at("request").at("type") == json::parse(text).at("type"));
    }
    for (const char* candidate : {"", R"(,"candidate":"candidate:1")", R"(,"candidate":{})",
                                  R"(,"candidate":{"candidate":1})", R"(,"candidate":[])", R"(,"candidate":false)"}) {
        auto text = std::string(R"({"type":"peer-candidate","to":2)") + candidate + "}";
        auto e = expect_error(hub, users, text, "invalid-message");
        CHECK(e.at("request") == json::parse(R"({"type":"peer-candidate","to":2})"));
    }
    check_still_usable(hub, users);
}

TEST_CASE("validation happens before the recipient is looked up", "[errors][invalid-message]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    auto e = expect_error(hub, users, R"({"type":"peer-connect","to":99,"desc":{}})", "invalid-message");
    CHECK(e.at("request").at("to") == 99);
}

TEST_CASE("unknown-type: an unregistered type, by default", "[errors][unknown-type]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    for (const char* type : {"chat", "Peer-Connect", "peer-connect ", "peer_connect", "\u00e9"}) {
        auto e = expect_error(hub, users, fmt::format(R"({{"type":"{}","to":2}})", type), "unknown-type");
        CHECK(e.at("request") == json({{"type", json::parse(fmt::format(R"("{}")", type))}, {"to", 2}}));
    }
    auto e = expect_error(hub, users, R"({"type":"chat"})", "unknown-type");
    CHECK(e.at("request") == json::parse(R"({"type":"chat"})"));
    check_still_usable(hub, users);
}

TEST_CASE("unknown-type: an empty type is still echoed in request", "[errors][unknown-type]") {
    // The type was read (it is ""), so request.type must be present.
    Hub hub;
    auto users = join_quietly(hub, 2);
    auto e = expect_error(hub, users, R"({"type":"","to":2})", "unknown-type");
    CHECK(e.at("request") == json::parse(R"({"type":"","to":2})"));
}

TEST_CASE("unknown-recipient: never existed, left, or in another room", "[errors][unknown-recipient]") {
    Hub hub;
    auto users = join_quietly(hub, 3);
    auto elsewhere = join(hub, "/room/other");
    REQUIRE(elsewhere.session);
    for (auto& u : users)
        u.connection->take();

    SECTION("never existed") {
        auto e = expect_error(hub, users, peer_connect(1000), "unknown-recipient");
        CHECK(e.at("request") == json::parse(R"({"type":"peer-connect","to":1000})"));
    }
    SECTION("the host ID when no host participant is there") {
        expect_error(hub, users, peer_connect(0), "unknown-recipient");
    }
    SECTION("a user in another room") {
        auto e = expect_error(hub, users, peer_connect(elsewhere.id()), "unknown-recipient");
        CHECK(e.at("request").at("to") == elsewhere.id());
        CHECK(elsewhere.connection->take().size() == 1);  // only its login
    }
    SECTION("a user who left") {
        hub.leave(*users[2].session);
        users[1].connection->take();  // user-left
        expect_error(hub, users, peer_connect(users[2].id()), "unknown-recipient");
        CHECK(users[2].connection->take().empty());
    }
    CHECK(hub.counters().messages_routed == 0);
    CHECK(errors_counted(hub, "unknown-recipient") == 1);
    check_still_usable(hub, users);
}

TEST_CASE("forbidden: each server-only type", "[errors][forbidden]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    for (const char* text :
         {R"({"type":"login","userId":2,"users":[]})", R"({"type":"user-joined","userId":5})",
          R"({"type":"user-left","userId":1})", R"({"type":"error","code":"room-full","message":"go away"})"}) {
        auto e = expect_error(hub, users, text, "forbidden");
        CHECK(e.at("request") == json({{"type", json::parse(text).at("type")}}));
    }
    SECTION("even when addressed to a user") {
        auto e = expect_error(hub, users, R"({"type":"user-left","to":2,"userId":1})", "forbidden");
        CHECK(e.at("request") == json::parse(R"({"type":"user-left","to":2})"));
    }
    SECTION("even with the unknown-type policy set to route") {
        Options options;
        options.unknown_types = UnknownTypePolicy::route;
        Hub routing(options);
        auto more = join_quietly(routing, 2);
        for (const char* type : {"login", "user-joined", "user-left", "error"})
            expect_error(routing, more, fmt::format(R"({{"type":"{}","to":2}})", type), "forbidden");
    }
    SECTION("spelled with escapes") {
        auto e = expect_error(hub, users, R"({"type":"l\u006fgin","to":2})", "forbidden");
        CHECK(e.at("request").at("type") == "login");
    }
    CHECK(errors_counted(hub, "forbidden") >= 4);
    check_still_usable(hub, users);
}

TEST_CASE("message-too-large is checked before the text is parsed", "[errors][message-too-large]") {
    Options options;
    options.limits.max_message_bytes = 128;
    Hub hub(options);
    auto users = join_quietly(hub, 2);
    auto big = peer_connect(2, R"(,"pad":")" + std::string(200, 'x') + "\"");
    auto e = expect_error(hub, users, big, "message-too-large");
    CHECK_FALSE(e.contains("request"));
    // Even garbage: the size comes first.
    expect_error(hub, users, std::string(129, '{'), "message-too-large");
    check_still_usable(hub, users);
}

TEST_CASE("rate-limited: the burst passes, the next is dropped and answered", "[errors][rate-limited]") {
    Options options;
    options.limits.rate_per_second = 1e-6;  // no refill during the test
    options.limits.rate_burst = 3;
    Hub hub(options);
    auto users = join_quietly(hub, 2);
    for (int i = 0; i < 3; ++i)
        users[0].send(hub, peer_connect(2));
    CHECK(users[1].connection->take().size() == 3);
    auto e = expect_error(hub, users, peer_connect(2), "rate-limited");
    CHECK_FALSE(e.contains("request"));
    CHECK_FALSE(users[0].connection->closed());
    // Every later message is dropped too, valid or not, until the bucket refills.
    expect_error(hub, users, "not json", "rate-limited");
    expect_error(hub, users, peer_connect(2), "rate-limited");
    CHECK(errors_counted(hub, "rate-limited") == 3);
    CHECK(hub.counters().messages_routed == 3);
    // Another user has its own bucket.
    users[1].send(hub, peer_connect(1));
    CHECK(take_one(users[0]).at("type") == "peer-connect");
}

TEST_CASE("room-full and too-many-rooms answer at connect time, then close with 1013", "[errors][room-full]") {
    Options options;
    options.limits.max_users_per_room = 1;
    options.limits.max_rooms = 1;
    Hub hub(options);
    auto first = join(hub);
    REQUIRE(first.session);
    first.connection->take();

    auto full = join(hub);
    CHECK_FALSE(full.session);
    auto msgs = full.connection->messages();
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0].at("type") == "error");
    CHECK(msgs[0].at("code") == "room-full");
    CHECK_FALSE(msgs[0].contains("request"));
    CHECK(full.connection->closed());
    CHECK(full.connection->close_code() == close_code::try_again_later);

    auto other = join(hub, "/room/other");
    CHECK_FALSE(other.session);
    msgs = other.connection->messages();
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0].at("code") == "too-many-rooms");
    CHECK(other.connection->close_code() == 1013);

    CHECK(first.connection->take().empty());
    CHECK_FALSE(first.connection->closed());
}

TEST_CASE("internal-error: a host handler that throws", "[errors][internal-error]") {
    Hub hub;
    hub.add_host_type("boom", [](const Request&) { throw std::runtime_error("kaput"); });
    auto users = join_quietly(hub, 2);
    auto e = expect_error(hub, users, R"({"type":"boom","to":2})", "internal-error");
    CHECK(e.at("request").at("type") == "boom");
    CHECK(e.at("message").get<std::string>().find("kaput") == std::string::npos);  // no internals leak
    check_still_usable(hub, users);
}

TEST_CASE("errors are counted by code and nothing is routed", "[errors][counters]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    users[0].send(hub, "nope");
    users[0].send(hub, "[]");
    users[0].send(hub, R"({"type":"x"})");
    users[0].send(hub, peer_connect(9));
    users[0].send(hub, R"({"type":"login"})");
    users[0].send(hub, R"({"type":"login"})");
    auto c = hub.counters();
    CHECK(c.errors == std::map<std::string, std::uint64_t>{{"invalid-json", 1},
                                                           {"invalid-message", 1},
                                                           {"unknown-type", 1},
                                                           {"unknown-recipient", 1},
                                                           {"forbidden", 2}});
    CHECK(c.messages_received == 6);
    CHECK(c.messages_routed == 0);
    CHECK(users[1].connection->take().empty());
}

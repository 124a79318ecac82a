// The wire protocol over real WebSockets on 127.0.0.1, through the Beast adapter.
#include <set>
#include <thread>

#include "catch.hpp"
#include "support/client.hpp"
#include "support/test_server.hpp"

using namespace switchboard;
using namespace switchboard::test;
using nlohmann::json;

namespace {

json expect_error(WsClient& client, std::string_view code) {
    auto message = client.receive_type("error");
    REQUIRE(message);
    CHECK((*message)["code"] == code);
    CHECK((*message)["message"].is_string());
    return *message;
}

}  // namespace

TEST_CASE("login gives distinct IDs and lists the users already there", "[beast]") {
    TestServer server;
    auto a = join(server.port());
    auto b = WsClient();
    auto login = b.login(server.port());
    REQUIRE(login);
    CHECK(b.id() != a->id());
    CHECK((*login)["users"] == json::array({a->id()}));
    auto joined = a->receive();
    REQUIRE(joined);
    CHECK(*joined == json({{"type", "user-joined"}, {"userId", b.id()}, {"profile", json::object()}}));
}

TEST_CASE("routed messages lose `to`, get a trusted `from` and keep everything else", "[beast]") {
    TestServer server;
    auto a = join(server.port());
    auto b = join(server.port());
    REQUIRE(a->receive_type("user-joined"));
    json sent = {{"type", "peer-connect"},
                 {"to", b->id()},
                 {"from", 999},
                 {"desc", {{"type", "offer"}, {"sdp", "v=0\r\n"}}},
                 {"extra", {1, 2, 3}}};
    REQUIRE(a->send(sent.dump()));
    auto got = b->receive();
    REQUIRE(got);
    CHECK((*got)["from"] == a->id());
    CHECK_FALSE(got->contains("to"));
    CHECK((*got)["desc"] == sent["desc"]);
    CHECK((*got)["extra"] == sent["extra"]);

    REQUIRE(b->send(json({{"type", "peer-candidate"}, {"to", a->id()}, {"candidate", nullptr}}).dump()));
    auto candidate = a->receive();
    REQUIRE(candidate);
    CHECK(*candidate == json({{"from", b->id()}, {"type", "peer-candidate"}, {"candidate", nullptr}}));
}

TEST_CASE("presence: user-left when a socket closes, and the hub forgets the user", "[beast]") {
    Options short_resume;
    short_resume.resume_window = std::chrono::milliseconds(300);
    TestServer server(short_resume);
    auto a = join(server.port());
    auto b = join(server.port());
    REQUIRE(a->receive_type("user-joined"));
    auto b_id = b->id();
    b->close();
    auto left = a->receive();
    REQUIRE(left);
    CHECK(*left == json({{"type", "user-left"}, {"userId", b_id}}));
    CHECK(server.hub.counters().connections_open == 1);

    // Abrupt disconnect (no close handshake) is cleaned up too, once the resume window is over.
    auto c = join(server.port());
    REQUIRE(a->receive_type("user-joined"));
    auto c_id = c->id();
    c.reset();
    for (int i = 0; i < 200 && server.hub.counters().sessions_suspended == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(server.hub.counters().sessions_suspended == 1);
    left = a->receive();
    REQUIRE(left);
    CHECK(*left == json({{"type", "user-left"}, {"userId", c_id}}));
    REQUIRE(a->send(json({{"type", "peer-connect"}, {"to", c_id}, {"desc", {{"type", "offer"}, {"sdp", ""}}}}).dump()));
    expect_error(*a, "unknown-recipient");
}

TEST_CASE("rooms are isolated", "[beast]") {
    TestServer server;
    auto a = join(server.port(), "/room/red");
    auto b = std::make_unique<WsClient>();
    auto login = b->login(server.port(), "/room/blue");
    REQUIRE(login);
    CHECK((*login)["users"].empty());
    auto c = join(server.port(), "/room/red");
    // a hears about c, not about b.
    auto joined = a->receive();
    REQUIRE(joined);
    CHECK(*joined == json({{"type", "user-joined"}, {"userId", c->id()}, {"profile", json::object()}}));
    REQUIRE(
        a->send(json({{"type", "peer-connect"}, {"to", b->id()}, {"desc", {{"type", "offer"}, {"sdp", ""}}}}).dump()));
    auto error = expect_error(*a, "unknown-recipient");
    CHECK(error["request"]["to"] == b->id());
}

TEST_CASE("every error code arrives over the wire", "[beast]") {
    Options options;
    options.limits.max_message_bytes = 1024;
    options.limits.max_users_per_room = 2;
    options.limits.max_rooms = 2;
    options.limits.rate_per_second = 1;
    options.limits.rate_burst = 20;
    auto server_options = TestServer::default_server_options();
    // Let the WebSocket reader pass more than the hub's limit, so the hub's own check answers.
    server_options.transport.read_message_max = 4096;
    TestServer server(options, server_options);
    auto a = join(server.port());

    SECTION("invalid-json") {
        REQUIRE(a->send("{\"type\":"));
        expect_error(*a, "invalid-json");
    }
    SECTION("invalid-message") {
        REQUIRE(a->send(R"({"type":"peer-connect","desc":{"type":"offer","sdp":""}})"));
        expect_error(*a, "invalid-message");
        REQUIRE(a->send(R"([1,2])"));
        expect_error(*a, "invalid-message");
    }
    SECTION("unknown-type") {
        REQUIRE(a->send(R"({"type":"file-offer","to":1})"));
        auto error = expect_error(*a, "unknown-type");
        CHECK(error["request"]["type"] == "file-offer");
    }
    SECTION("unknown-recipient") {
        REQUIRE(a->send(R"({"type":"peer-candidate","to":123456789,"candidate":null})"));
        expect_error(*a, "unknown-recipient");
    }
    SECTION("message-too-large (hub limit below the transport limit)") {
        std::string big = R"({"type":"peer-candidate","to":1,"candidate":")" + std::string(2000, 'x') + "\"}";
        REQUIRE(a->send(big));
        expect_error(*a, "message-too-large");
    }
    SECTION("forbidden") {
        REQUIRE(a->send(R"({"type":"login","userId":5,"users":[]})"));
        expect_error(*a, "forbidden");
    }
    SECTION("rate-limited") {
        for (int i = 0; i < 30; ++i)
            REQUIRE(a->send(R"({"type":"peer-candidate","to":123456789,"candidate":null})"));
        // The first messages are within the burst (unknown-recipient); then the limit bites.
        bool limited = false;
        for (int i = 0; i < 30 && !limited; ++i) {
            auto error = a->receive_type("error");
            REQUIRE(error);
            limited = (*error)["code"] == "rate-limited";
        }
        CHECK(limited);
    }
    SECTION("room-full, then close 1013") {
        auto b = join(server.port());
        WsClient c;
        REQUIRE(c.connect(server.port()) == 101);
        auto error = c.receive();
        REQUIRE(error);
        CHECK((*error)["code"] == "room-full");
        CHECK(c.wait_closed() == 1013);
    }
    SECTION("too-many-rooms, then close 1013") {
        auto b = join(server.port(), "/room/second");
        WsClient c;
        REQUIRE(c.connect(server.port(), "/room/third") == 101);
        auto error = c.receive();
        REQUIRE(error);
        CHECK((*error)["code"] == "too-many-rooms");
        CHECK(c.wait_closed() == 1013);
    }
    // The connection stays usable after an error.
    auto b = join(server.port(), "/room/second");
    (void)b;
    CHECK(server.hub.counters().errors.size() >= 1);
}

TEST_CASE("refused handshakes: unknown path 404, Origin not allowed 403, authorize hook 403", "[beast]") {
    Options options;
    options.allowed_origins = {"http://good.example"};
    TestServer server(options, TestServer::default_server_options(), [](Hub& hub) {
        hub.on_authorize([](const Handshake& h) {
            return h.query_param("token") == "nope" ? Verdict::deny("bad token") : Verdict::allow();
        });
    });

    WsClient wrong_path;
    CHECK(wrong_path.connect(server.port(), "/chat") == 404);
    WsClient bad_origin;
    CHECK(bad_origin.connect(server.port(), "/", {{"Origin", "http://evil.example"}}) == 403);
    CHECK_FALSE(bad_origin.refusal_body().empty());
    WsClient good_origin;
    CHECK(good_origin.connect(server.port(), "/room/x", {{"Origin", "http://good.example"}}) == 101);
    WsClient denied;
    CHECK(denied.connect(server.port(), "/?token=nope") == 403);
    CHECK(denied.refusal_body() == "bad token");
}

// The handshake side: paths to rooms, the Origin allow-list, the authorize
// hook, and the Handshake accessors.
#include <string>
#include <vector>

#include "unit_helpers.hpp"

using namespace switchboard;
using namespace switchboard::test;

namespace {

Handshake handshake(std::string path, std::vector<std::pair<std::string, std::string>> headers = {},
                    std::string query = "", std::string remote = "192.0.2.7") {
    Handshake h;
    h.path = std::move(path);
    h.headers = std::move(headers);
    h.query = std::move(query);
    h.remote_address = std::move(remote);
    return h;
}

}  // namespace

TEST_CASE("room_from_path maps / and /room/<name>", "[admission][paths]") {
    CHECK(room_from_path("/") == std::optional<std::string>(""));
    CHECK(room_from_path("/room/lobby") == std::optional<std::string>("lobby"));
    CHECK(room_from_path("/room/A-z_0.9~") == std::optional<std::string>("A-z_0.9~"));
    CHECK(room_from_path("/room/" + std::string(64, 'x')) == std::optional<std::string>(std::string(64, 'x')));
    CHECK(room_from_path("/room/.") == std::optional<std::string>("."));
}

TEST_CASE("admit answers 404 for any other path", "[admission][paths]") {
    Hub hub;
    for (const std::string& path :
         std::vector<std::string>{"", "/room", "/room/", "/room/a/b", "/room/a/", "/room/" + std::string(65, 'x'),
                                  "/rooms/a", "/x", "//", "/room//a", "/room/a b", "/room/%41", "/room/caf\xC3\xA9",
                                  "/room/a?b", "/ROOM/a", "room/a", "/room/a#b", "/room/a;b", "/index.html"}) {
        INFO(path);
        auto a = hub.admit(handshake(path));
        CHECK_FALSE(a);
        CHECK(a.status() == 404);
        CHECK_FALSE(a.reason().empty());
    }
    CHECK(hub.counters().connections_refused == 19);
}

TEST_CASE("admit accepts the default room and named rooms", "[admission][paths]") {
    Hub hub;
    auto def = hub.admit(handshake("/"));
    REQUIRE(def);
    CHECK(def.status() == 101);
    CHECK(def.room().empty());
    auto named = hub.admit(handshake("/room/" + std::string(64, 'z')));
    REQUIRE(named);
    CHECK(named.room() == std::string(64, 'z'));
    CHECK(named.handshake().remote_address == "192.0.2.7");
    CHECK(hub.counters().connections_refused == 0);
}

TEST_CASE("the Origin allow-list refuses other origins with 403", "[admission][origin]") {
    Options options;
    options.allowed_origins = {"http://localhost:8080", "https://chat.example"};
    Hub hub(options);
    CHECK(hub.admit(handshake("/", {{"Origin", "http://localhost:8080"}})));
    CHECK(hub.admit(handshake("/room/x", {{"origin", "https://chat.example"}})));

    for (const char* origin :
         {"http://evil.example", "http://localhost:8081", "https://chat.example/", "null", "HTTPS://CHAT.EXAMPLE"}) {
        INFO(origin);
        auto a = hub.admit(handshake("/", {{"Origin", origin}}));
        CHECK_FALSE(a);
        CHECK(a.status() == 403);
        CHECK(a.reason().find(origin) != std::string::npos);
    }
    SECTION("a handshake without Origin (a non-browser client) is allowed") {
        CHECK(hub.admit(handshake("/", {{"User-Agent", "native"}})));
    }
    SECTION("the path is checked first") {
        auto a = hub.admit(handshake("/nope", {{"Origin", "http://evil.example"}}));
        CHECK(a.status() == 404);
    }
    SECTION("the first Origin header counts") {
        CHECK(hub.admit(handshake("/", {{"Origin", "https://chat.example"}, {"Origin", "http://evil.example"}})));
    }
}

TEST_CASE("without an allow-list any origin is accepted", "[admission][origin]") {
    Hub hub;
    CHECK(hub.admit(handshake("/", {{"Origin", "http://anything.example"}})));
}

TEST_CASE("the authorize hook sees the handshake and can deny with a reason", "[admission][authorize]") {
    Hub hub;
    std::vector<Handshake> seen;
    hub.on_authorize([&](const Handshake& h) {
        seen.push_back(h);
        if (h.query_param("token") != "secret") return Verdict::deny("bad token");
        return Verdict::allow();
    });
    auto denied = hub.admit(handshake("/room/x", {{"X-Forwarded-For", "10.0.0.1"}, {"Origin", "http://a"}},
                                      "user=ann&token=wrong", "198.51.100.4"));
    CHECK_FALSE(denied);
    CHECK(denied.status() == 403);
    CHECK(denied.reason() == "bad token");

    REQUIRE(seen.size() == 1);
    CHECK(seen[0].path == "/room/x");
    CHECK(seen[0].query == "user=ann&token=wrong");
    CHECK(seen[0].remote_address == "198.51.100.4");
    CHECK(seen[0].header("x-forwarded-for") == "10.0.0.1");
    CHECK(seen[0].query_param("user") == "ann");

    auto allowed = hub.admit(handshake("/room/x", {}, "token=secret"));
    REQUIRE(allowed);
    auto session = hub.open(std::move(allowed), std::make_shared<MemoryConnection>());
    REQUIRE(session);
    CHECK(session->room() == "x");
    CHECK(hub.counters().connections_refused == 1);
}

TEST_CASE("a deny without a reason still gives the client one", "[admission][authorize]") {
    Hub hub;
    hub.on_authorize([](const Handshake&) { return Verdict::deny(""); });
    auto a = hub.admit(handshake("/"));
    CHECK(a.status() == 403);
    CHECK_FALSE(a.reason().empty());
}

TEST_CASE("the authorize hook runs only for valid paths and allowed origins", "[admission][authorize]") {
    Options options;
    options.allowed_origins = {"http://ok"};
    Hub hub(options);
    int calls = 0;
    hub.on_authorize([&](const Handshake&) {
        ++calls;
        return Verdict::allow();
    });
    CHECK(hub.admit(handshake("/bad")).status() == 404);
    CHECK(hub.admit(handshake("/", {{"Origin", "http://not-ok"}})).status() == 403);
    CHECK(calls == 0);
    CHECK(hub.admit(handshake("/", {{"Origin", "http://ok"}})));
    CHECK(calls == 1);
}

TEST_CASE("open refuses an admission that was refused, and a null connection", "[admission]") {
    Hub hub;
    auto refused = hub.admit(handshake("/nope"));
    CHECK_THROWS_AS(hub.open(refused, std::make_shared<MemoryConnection>()), std::invalid_argument);
    CHECK_THROWS_AS(hub.open(hub.admit(handshake("/")), nullptr), std::invalid_argument);
    CHECK(hub.counters().connections_open == 0);
}

TEST_CASE("the remote address of the handshake reaches the join hook", "[admission][hooks]") {
    Hub hub;
    std::vector<UserEvent> joins;
    hub.on_join([&](const UserEvent& e) { joins.push_back(e); });
    auto session =
        hub.open(hub.admit(handshake("/room/r", {}, "", "203.0.113.9")), std::make_shared<MemoryConnection>());
    REQUIRE(joins.size() == 1);
    CHECK(joins[0].id == session->id());
    CHECK(joins[0].room == "r");
    CHECK(joins[0].remote_address == "203.0.113.9");
}

TEST_CASE("Handshake::header is case-insensitive and returns the first match", "[admission][handshake]") {
    auto h = handshake("/", {{"Sec-WebSocket-Protocol", "a"}, {"sec-websocket-protocol", "b"}, {"X-Empty", ""}});
    CHECK(h.header("sec-websocket-protocol") == "a");
    CHECK(h.header("SEC-WEBSOCKET-PROTOCOL") == "a");
    CHECK(h.header("x-empty").empty());
    CHECK(h.header("missing").empty());
    CHECK(h.header("Sec-WebSocket-Protoco").empty());
}

TEST_CASE("Handshake::query_param finds exact names, undecoded", "[admission][handshake]") {
    auto h = handshake("/", {}, "a=1&token=x%20y&flag&ab=2&a=3&=empty&last=");
    CHECK(h.query_param("a") == "1");
    CHECK(h.query_param("token") == "x%20y");
    CHECK(h.query_param("ab") == "2");
    CHECK(h.query_param("flag").empty());
    CHECK(h.query_param("last").empty());
    CHECK(h.query_param("b").empty());
    CHECK(h.query_param("missing").empty());
    CHECK(handshake("/").query_param("a").empty());
}

// Smoke test of examples/beast_embed: start it, connect once, use its own
// HTTP route, stop it with SIGTERM.
#include "catch.hpp"
#include "support/client.hpp"
#include "support/process.hpp"

using namespace switchboard::test;

TEST_CASE("the beast_embed example serves its own route and Switchboard on one port", "[beast][example]") {
    ChildProcess example({SWITCHBOARD_EMBED_EXE, "--port", "0"});
    REQUIRE(example.started());
    auto line = example.read_line();
    REQUIRE(line);
    REQUIRE(line->rfind("listening on ws://127.0.0.1:", 0) == 0);
    auto port = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));

    CHECK(http_request(port, "GET", "/hello").body == "hello from the host application\n");
    WsClient a, b;
    REQUIRE(a.login(port, "/room/demo"));
    REQUIRE(b.login(port, "/room/demo"));
    REQUIRE(a.receive_type("user-joined"));
    REQUIRE(b.send(nlohmann::json({{"type", "peer-candidate"}, {"to", a.id()}, {"candidate", nullptr}}).dump()));
    auto got = a.receive();
    REQUIRE(got);
    CHECK((*got)["from"] == b.id());

    example.signal(SIGTERM);
    // Both clients answer the closing handshake, so the example exits at once.
    CHECK(a.wait_closed() == 1001);
    CHECK(b.wait_closed() == 1001);
    CHECK(example.wait(5s) == 0);
}

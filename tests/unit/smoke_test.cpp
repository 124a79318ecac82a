#include "catch.hpp"
#include "memory_connection.hpp"

using namespace switchboard;

TEST_CASE("a newcomer gets login and can reach an existing user") {
    Hub hub;
    auto a = test::join(hub);
    REQUIRE(a.connection->take().at(0) ==
            nlohmann::json::parse(
                R"({"type":"login","userId":1,"users":[],"profile":{},"profiles":{},"resume":"<token>"})"));
    auto b = test::join(hub);
    REQUIRE(b.connection->take().at(0) ==
            nlohmann::json::parse(
                R"({"type":"login","userId":2,"users":[1],"profile":{},"profiles":{"1":{}},"resume":"<token>"})"));
    REQUIRE(a.connection->take().at(0) == nlohmann::json::parse(R"({"type":"user-joined","userId":2,"profile":{}})"));
    b.send(hub, R"({"type":"peer-connect","to":1,"desc":{"type":"offer","sdp":"v=0"},"extra":[1,2]})");
    REQUIRE(a.connection->texts().back() ==
            R"({"from":2,"type":"peer-connect","desc":{"type":"offer","sdp":"v=0"},"extra":[1,2]})");
}

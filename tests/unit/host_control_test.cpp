// Host control: the host application lists rooms and users, sends to a user
// or a room, and removes a user.
#include <stdexcept>

#include "unit_helpers.hpp"

using namespace switchboard;
using namespace switchboard::test;

namespace {

TestUser open_named(Hub& hub, std::string path, std::string name) {
    auto u = join_with(hub, with_query("name=" + name, std::move(path)));
    u.connection->take();
    return u;
}

const json notice = {{"type", "notice"}, {"text", "the server restarts at noon"}};

}  // namespace

TEST_CASE("the host lists the rooms and the users of a room with their profiles", "[host]") {
    Hub hub(names_allowed());
    CHECK(hub.rooms().empty());
    auto ann = open_named(hub, "/room/lobby", "Ann");
    auto bo = open_named(hub, "/room/lobby", "Bo");
    auto cy = open_named(hub, "/", "Cy");
    CHECK(hub.rooms() == std::vector<std::string>{"", "lobby"});
    auto lobby = hub.users("lobby");
    REQUIRE(lobby.size() == 2);
    CHECK(lobby[0].id == ann.id());
    CHECK(lobby[0].profile == json{{"name", "Ann"}});
    CHECK(lobby[1].id == bo.id());
    CHECK(hub.users("")[0].profile == json{{"name", "Cy"}});
    CHECK(hub.users("nowhere").empty());
    hub.leave(*cy.session);
    CHECK(hub.rooms() == std::vector<std::string>{"lobby"});
}

TEST_CASE("the host sends to one user, or to a room, messages of its own types only", "[host]") {
    Hub hub;
    auto users = join_quietly(hub, 2, "/room/a");
    auto other = join(hub, "/room/b");
    other.connection->take();
    CHECK(hub.send_to(users[0].id(), notice) == SendResult::sent);
    CHECK(take_one(users[0]) == notice);
    CHECK(users[1].connection->take().empty());
    CHECK(hub.send_to(424242, notice) == SendResult::no_such_user);

    CHECK(hub.broadcast("a", notice) == 2);
    CHECK(take_one(users[0]) == notice);
    CHECK(take_one(users[1]) == notice);
    CHECK(other.connection->take().empty());
    CHECK(hub.broadcast("empty", notice) == 0);

    for (const json& bad : {json::array(), json{{"text", "no type"}}, json{{"type", 7}},
                            json{{"type", "login"}, {"userId", 1}, {"users", json::array()}},
                            json{{"type", "user-left"}, {"userId", 2}}, json{{"type", "error"}}}) {
        INFO(bad.dump());
        CHECK_THROWS_AS(hub.send_to(users[0].id(), bad), std::invalid_argument);
        CHECK_THROWS_AS(hub.broadcast("a", bad), std::invalid_argument);
    }
    CHECK(users[0].connection->take().empty());
}

TEST_CASE("a host message to a reader whose queue is full is refused, not the reader closed", "[host]") {
    Hub hub;
    auto users = join_quietly(hub, 1);
    users[0].connection->refuse_offers(true);
    CHECK(hub.send_to(users[0].id(), notice) == SendResult::busy);
    CHECK_FALSE(users[0].connection->closed());
}

TEST_CASE("the host removes a user: closed with its code and reason, the others told at once, no resume", "[host]") {
    Hub hub;
    auto users = join_quietly(hub, 3);
    const auto token = users[0].connection->resume_token();
    CHECK(hub.disconnect(users[0].id(), 4001, "spamming"));
    CHECK(users[0].connection->closed());
    CHECK(users[0].connection->close_code() == 4001);
    CHECK(take_one(users[1]) == json::parse(R"({"type":"user-left","userId":1})"));
    CHECK(take_one(users[2]) == json::parse(R"({"type":"user-left","userId":1})"));
    CHECK(hub.counters().connections_open == 2);
    // The adapter's own leave afterwards (even as a lost socket) changes nothing.
    hub.leave(*users[0].session, Departure::lost);
    CHECK(hub.counters().sessions_suspended == 0);
    CHECK(users[1].connection->take().empty());
    // Its token does not bring it back.
    auto again = join_with(hub, with_query("resume=" + token));
    CHECK(again.id() != users[0].id());
    CHECK(again.connection->take().back().at("code") == "resume-failed");

    CHECK_FALSE(hub.disconnect(424242));
    CHECK_THROWS_AS(hub.disconnect(users[1].id(), 1006), std::invalid_argument);
    CHECK_THROWS_AS(hub.disconnect(users[1].id(), 2999), std::invalid_argument);
    CHECK_THROWS_AS(hub.disconnect(users[1].id(), 4000, std::string(124, 'x')), std::invalid_argument);
    CHECK_THROWS_AS(hub.disconnect(users[1].id(), 4000, "\xff"), std::invalid_argument);
    CHECK_FALSE(users[1].connection->closed());
}

TEST_CASE("removing a user who waits to resume ends it at once", "[host][resume]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    hub.leave(*users[0].session, Departure::lost);
    CHECK(users[1].connection->take().empty());
    CHECK(hub.disconnect(users[0].id()));
    CHECK(take_one(users[1]) == json::parse(R"({"type":"user-left","userId":1})"));
    CHECK(hub.counters().sessions_suspended == 0);
    CHECK(hub.users("").size() == 1);
}

TEST_CASE("a host message to a user waiting to resume is kept for it", "[host][resume]") {
    Hub hub;
    auto users = join_quietly(hub, 1);
    const auto token = users[0].connection->resume_token();
    hub.leave(*users[0].session, Departure::lost);
    CHECK(hub.send_to(users[0].id(), notice) == SendResult::sent);
    auto back = join_with(hub, with_query("resume=" + token));
    auto got = back.connection->take();
    REQUIRE(got.size() == 2);
    CHECK(got[0].at("resumed") == true);
    CHECK(got[1] == notice);
}

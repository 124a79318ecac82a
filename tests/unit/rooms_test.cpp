// Rooms, presence and user IDs: login contents, user-joined/user-left,
// isolation between rooms, ID uniqueness and leave.
#include <algorithm>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "unit_helpers.hpp"

using namespace switchboard;
using namespace switchboard::test;
using nlohmann::json;

TEST_CASE("login is the first message and lists the earlier users ascending", "[rooms][presence]") {
    Hub hub;
    auto a = join(hub);
    CHECK(a.connection->take() ==
          std::vector<json>{
              json::parse(R"({"type":"login","userId":1,"users":[],"profile":{},"profiles":{},"resume":"<token>"})")});
    auto b = join(hub);
    CHECK(b.connection->take() ==
          std::vector<json>{json::parse(
              R"({"type":"login","userId":2,"users":[1],"profile":{},"profiles":{"1":{}},"resume":"<token>"})")});
    auto c = join(hub);
    CHECK(
        c.connection->take() ==
        std::vector<json>{json::parse(
            R"({"type":"login","userId":3,"users":[1,2],"profile":{},"profiles":{"1":{},"2":{}},"resume":"<token>"})")});
    CHECK(a.id() == 1);
    CHECK(b.id() == 2);
    CHECK(c.id() == 3);
}

TEST_CASE("login lists users ascending even after others left out of order", "[rooms][presence]") {
    Hub hub;
    auto users = join_quietly(hub, 6);
    hub.leave(*users[1].session);  // 2
    hub.leave(*users[0].session);  // 1
    hub.leave(*users[3].session);  // 4
    auto late = join(hub);
    auto login = late.connection->take().at(0);
    CHECK(login.at("type") == "login");
    CHECK(login.at("users") == json::parse("[3,5,6]"));
    CHECK(login.at("userId") == 7);
}

TEST_CASE("earlier users get user-joined, the newcomer gets none about itself", "[rooms][presence]") {
    Hub hub;
    auto a = join(hub);
    auto b = join(hub);
    auto c = join(hub);
    CHECK(a.connection->messages() ==
          std::vector<json>{
              json::parse(R"({"type":"login","userId":1,"users":[],"profile":{},"profiles":{},"resume":"<token>"})"),
              json::parse(R"({"type":"user-joined","userId":2,"profile":{}})"),
              json::parse(R"({"type":"user-joined","userId":3,"profile":{}})")});
    CHECK(b.connection->messages() ==
          std::vector<json>{
              json::parse(
                  R"({"type":"login","userId":2,"users":[1],"profile":{},"profiles":{"1":{}},"resume":"<token>"})"),
              json::parse(R"({"type":"user-joined","userId":3,"profile":{}})")});
    CHECK(
        c.connection->messages() ==
        std::vector<json>{json::parse(
            R"({"type":"login","userId":3,"users":[1,2],"profile":{},"profiles":{"1":{},"2":{}},"resume":"<token>"})")});
}

TEST_CASE("the others get user-left when a user leaves, the leaver gets nothing more", "[rooms][presence]") {
    Hub hub;
    auto users = join_quietly(hub, 3);
    hub.leave(*users[1].session);
    CHECK(take_one(users[0]) == json::parse(R"({"type":"user-left","userId":2})"));
    CHECK(take_one(users[2]) == json::parse(R"({"type":"user-left","userId":2})"));
    CHECK(users[1].connection->take().empty());
    // Its later messages are ignored: not routed, not answered, not counted.
    auto received = hub.counters().messages_received;
    users[1].send(hub, peer_connect(1));
    users[1].send(hub, "garbage");
    CHECK(users[0].connection->take().empty());
    CHECK(users[1].connection->take().empty());
    CHECK(hub.counters().messages_received == received);
}

TEST_CASE("leave is idempotent", "[rooms][presence]") {
    Hub hub;
    int left_events = 0;
    hub.on_leave([&](const UserEvent&) { ++left_events; });
    auto users = join_quietly(hub, 2);
    hub.leave(*users[1].session);
    hub.leave(*users[1].session);
    hub.leave(*users[1].session);
    CHECK(users[0].connection->take().size() == 1);
    CHECK(left_events == 1);
    auto c = hub.counters();
    CHECK(c.connections_open == 1);
    CHECK(c.rooms_open == 1);
    hub.leave(*users[0].session);
    hub.leave(*users[0].session);
    CHECK(hub.counters().connections_open == 0);
    CHECK(hub.counters().rooms_open == 0);
}

namespace {

/**
 * Records like MemoryConnection, but when its login arrives it first makes
 * another user route a message to it, i.e. while the hub is still sending
 * the login, and only then records the login.
 */
class GreetedConnection final : public Connection {
public:
    GreetedConnection(Hub& hub, Session& greeter) : hub_(hub), greeter_(greeter) {}
    void send(std::shared_ptr<const std::string> text) override {
        auto message = json::parse(*text);
        if (message.at("type") == "login" && !greeted_) {
            greeted_ = true;
            hub_.receive(greeter_, peer_connect(message.at("userId").get<UserId>()));
        }
        received.push_back(std::move(message));
    }
    void close(int, std::string_view) override {}
    std::vector<json> received;

private:
    Hub& hub_;
    Session& greeter_;
    bool greeted_ = false;
};

}  // namespace

TEST_CASE("a user never receives anything before its login", "[rooms][presence]") {
    Hub hub;
    auto greeter = join(hub);
    auto connection = std::make_shared<GreetedConnection>(hub, *greeter.session);
    auto session = hub.open(hub.admit(at_path("/")), connection);
    REQUIRE(session);
    REQUIRE(connection->received.size() == 2);
    CHECK(connection->received[0].at("type") == "login");
    CHECK(connection->received[1].at("type") == "peer-connect");
    CHECK(connection->received[1].at("from") == greeter.id());
    CHECK(hub.counters().messages_routed == 1);
}

TEST_CASE("rooms are isolated: no presence and no routing across rooms", "[rooms][isolation]") {
    Hub hub;
    auto lobby1 = join(hub, "/room/lobby");
    auto other1 = join(hub, "/room/other");
    auto def1 = join(hub, "/");
    auto lobby2 = join(hub, "/room/lobby");
    auto other2 = join(hub, "/room/other");
    auto def2 = join(hub, "/");

    CHECK(lobby2.connection->messages().at(0).at("users") == json::array({lobby1.id()}));
    CHECK(other2.connection->messages().at(0).at("users") == json::array({other1.id()}));
    CHECK(def2.connection->messages().at(0).at("users") == json::array({def1.id()}));
    CHECK(lobby1.connection->messages().size() == 2);  // login + user-joined of lobby2 only
    CHECK(lobby1.connection->messages().at(1).at("userId") == lobby2.id());
    CHECK(def1.connection->messages().size() == 2);
    CHECK(def1.connection->messages().at(1).at("userId") == def2.id());

    for (auto* u : {&lobby1, &other1, &def1, &lobby2, &other2, &def2})
        u->connection->take();

    CHECK(error_code(hub, lobby1, peer_connect(other1.id())) == "unknown-recipient");
    CHECK(error_code(hub, lobby1, peer_connect(def1.id())) == "unknown-recipient");
    CHECK(error_code(hub, def1, peer_connect(lobby2.id())) == "unknown-recipient");
    lobby1.send(hub, peer_connect(lobby2.id()));
    CHECK(take_one(lobby2).at("from") == lobby1.id());

    hub.leave(*other1.session);
    CHECK(take_one(other2).at("type") == "user-left");
    for (auto* u : {&lobby1, &def1, &lobby2, &def2})
        CHECK(u->connection->take().empty());

    CHECK(hub.counters().rooms_open == 3);
    CHECK(lobby1.session->room() == "lobby");
    CHECK(def1.session->room().empty());
}

TEST_CASE("room names are case-sensitive", "[rooms][isolation]") {
    Hub hub;
    auto lower = join(hub, "/room/lobby");
    auto upper = join(hub, "/room/Lobby");
    CHECK(upper.connection->messages().at(0).at("users") == json::array());
    CHECK(hub.counters().rooms_open == 2);
    CHECK(error_code(hub, upper, peer_connect(lower.id())) == "unknown-recipient");
}

TEST_CASE("a room closes with its last user and can open again", "[rooms]") {
    Hub hub;
    auto a = join(hub, "/room/x");
    CHECK(hub.counters().rooms_open == 1);
    hub.leave(*a.session);
    CHECK(hub.counters().rooms_open == 0);
    auto b = join(hub, "/room/x");
    CHECK(b.connection->messages().at(0).at("users") == json::array());
    CHECK(hub.counters().rooms_open == 1);
}

TEST_CASE("IDs are never reused, not even after their user left", "[rooms][ids]") {
    Hub hub;
    std::set<UserId> seen;
    for (int i = 0; i < 50; ++i) {
        auto u = join(hub, i % 2 ? "/" : "/room/r");
        REQUIRE(u.session);
        CHECK(seen.insert(u.id()).second);
        CHECK(u.id() != host_user_id);
        CHECK(u.connection->messages().at(0).at("userId") == u.id());
        hub.leave(*u.session);
    }
    CHECK(seen.size() == 50);
}

TEST_CASE("IDs are unique under concurrent opens from several threads", "[rooms][ids][threads]") {
    Hub hub;
    constexpr int threads = 4;
    constexpr int per_thread = 100;
    std::vector<std::vector<TestUser>> opened(threads);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            const std::string paths[] = {"/", "/room/a", "/room/b"};
            for (int i = 0; i < per_thread; ++i)
                opened[t].push_back(join(hub, paths[(t + i) % 3]));
        });
    }
    for (auto& w : workers)
        w.join();

    std::set<UserId> ids;
    for (auto& list : opened) {
        for (auto& u : list) {
            REQUIRE(u.session);
            CHECK(ids.insert(u.id()).second);
            auto first = u.connection->messages().at(0);
            CHECK(first.at("type") == "login");
            CHECK(first.at("userId") == u.id());
        }
    }
    CHECK(ids.size() == threads * per_thread);
    CHECK(ids.count(host_user_id) == 0);
    CHECK(*ids.rbegin() == threads * per_thread);  // 1..N, no gaps, none skipped
    auto c = hub.counters();
    CHECK(c.connections_open == threads * per_thread);
    CHECK(c.connections_total == threads * per_thread);
    CHECK(c.rooms_open == 3);

    // Everyone's view of its room is consistent: the users in its login plus
    // those announced by user-joined are exactly the others in its room.
    std::map<std::string, std::set<UserId>> members;
    for (auto& list : opened)
        for (auto& u : list)
            members[u.session->room()].insert(u.id());
    for (auto& list : opened) {
        for (auto& u : list) {
            std::set<UserId> known;
            for (auto& m : u.connection->messages()) {
                if (m.at("type") == "login")
                    for (auto& id : m.at("users"))
                        CHECK(known.insert(id.get<UserId>()).second);
                if (m.at("type") == "user-joined") CHECK(known.insert(m.at("userId").get<UserId>()).second);
            }
            auto expected = members.at(u.session->room());
            expected.erase(u.id());
            CHECK(known == expected);
        }
    }
}

// The host application as a user of a room: Hub::join_local.
#include <algorithm>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "unit_helpers.hpp"

using namespace switchboard;
using namespace switchboard::test;
using nlohmann::json;

namespace {

/** What a local participant received, recorded by its handler. */
class Inbox {
public:
    LocalHandler handler() {
        return [this](const json& m) {
            std::lock_guard lock(mutex_);
            got_.push_back(m);
        };
    }
    std::vector<json> take() {
        std::lock_guard lock(mutex_);
        auto out = std::move(got_);
        got_.clear();
        return out;
    }

private:
    std::mutex mutex_;
    std::vector<json> got_;
};

}  // namespace

TEST_CASE("the local participant gets its login before join_local returns and takes ID 0", "[local]") {
    Hub hub;
    auto users = join_quietly(hub, 2, "/room/lobby");
    Inbox inbox;
    auto host = hub.join_local("lobby", inbox.handler());
    REQUIRE(host);
    CHECK(host->id() == host_user_id);
    CHECK(inbox.take() == std::vector<json>{json::parse(
                              R"({"type":"login","userId":0,"users":[1,2],"profile":{},"profiles":{"1":{},"2":{}}})")});
    for (auto& u : users)
        CHECK(take_one(u) == json::parse(R"({"type":"user-joined","userId":0,"profile":{}})"));
    // A later remote user sees ID 0 first in its login.
    auto late = join(hub, "/room/lobby");
    CHECK(late.connection->take().at(0).at("users") == json::parse("[0,1,2]"));
    CHECK(inbox.take() == std::vector<json>{json::parse(R"({"type":"user-joined","userId":3,"profile":{}})")});
}

TEST_CASE("the local participant receives routed messages with from", "[local]") {
    Hub hub;
    Inbox inbox;
    auto host = hub.join_local("", inbox.handler());
    auto users = join_quietly(hub, 1);
    inbox.take();
    users[0].send(hub, R"({"type":"peer-connect","to":0,"from":5,"desc":{"type":"offer","sdp":"v=0"},"x":"y"})");
    auto got = inbox.take();
    REQUIRE(got.size() == 1);
    CHECK(got[0] == json::parse(R"({"type":"peer-connect","from":1,"desc":{"type":"offer","sdp":"v=0"},"x":"y"})"));
    users[0].send(hub, R"({"type":"peer-candidate","to":0,"candidate":null})");
    got = inbox.take();
    REQUIRE(got.size() == 1);
    CHECK(got[0].at("candidate").is_null());
    CHECK(hub.counters().messages_routed == 2);
}

TEST_CASE("the local participant sends like any user, typed messages included", "[local]") {
    Hub hub;
    Inbox inbox;
    auto host = hub.join_local("", inbox.handler());
    auto users = join_quietly(hub, 1);
    inbox.take();

    messages::PeerResponse answer;
    answer.to = users[0].id();
    answer.desc = {"answer", "v=0\r\n"};
    host->send(answer);
    CHECK(take_one(users[0]) ==
          json::parse(R"({"type":"peer-response","from":0,"desc":{"type":"answer","sdp":"v=0\r\n"}})"));

    // A spoofed from is overwritten for the host too.
    host->send({{"type", "peer-candidate"}, {"to", users[0].id()}, {"from", 99}, {"candidate", nullptr}});
    CHECK(take_one(users[0]).at("from") == 0);
    CHECK(inbox.take().empty());
}

TEST_CASE("the local participant goes through the same validation and gets errors", "[local]") {
    Hub hub;
    Inbox inbox;
    auto host = hub.join_local("", inbox.handler());
    inbox.take();
    host->send({{"type", "peer-connect"}, {"to", 42}, {"desc", {{"type", "offer"}, {"sdp", ""}}}});
    host->send({{"type", "peer-connect"}, {"to", 42}});
    host->send({{"type", "user-left"}, {"userId", 3}});
    host->send(json::array());
    auto got = inbox.take();
    REQUIRE(got.size() == 4);
    CHECK(got[0].at("code") == "unknown-recipient");
    CHECK(got[0].at("request") == json::parse(R"({"type":"peer-connect","to":42})"));
    CHECK(got[1].at("code") == "invalid-message");
    CHECK(got[2].at("code") == "forbidden");
    CHECK(got[3].at("code") == "invalid-message");
}

TEST_CASE("ID 0 can be taken by one local participant at a time", "[local]") {
    Hub hub;
    auto first = hub.join_local("a", {});
    CHECK_THROWS_AS(hub.join_local("a", {}), std::logic_error);
    CHECK_THROWS_AS(hub.join_local("b", {}), std::logic_error);  // IDs are global, not per room
    CHECK(hub.counters().connections_open == 1);
    first->leave();
    auto second = hub.join_local("b", {});
    CHECK(second->id() == host_user_id);
}

TEST_CASE("LocalId::fresh gives a new ID, like a remote user", "[local]") {
    Hub hub;
    auto remote = join(hub);
    auto host = hub.join_local("", {});
    auto fresh1 = hub.join_local("", {}, Hub::LocalId::fresh);
    auto fresh2 = hub.join_local("", {}, Hub::LocalId::fresh);
    CHECK(host->id() == 0);
    CHECK(fresh1->id() != 0);
    CHECK(fresh2->id() != 0);
    CHECK(fresh1->id() != remote.id());
    CHECK(fresh2->id() != fresh1->id());
    auto later = join(hub);
    CHECK(later.id() != fresh1->id());
    CHECK(later.id() != fresh2->id());
}

TEST_CASE("two local participants can talk to each other", "[local]") {
    Hub hub;
    Inbox host_inbox, fresh_inbox;
    auto host = hub.join_local("r", host_inbox.handler());
    auto fresh = hub.join_local("r", fresh_inbox.handler(), Hub::LocalId::fresh);
    CHECK(fresh_inbox.take().at(0).at("users") == json::array({0}));
    host_inbox.take();
    fresh->send({{"type", "peer-candidate"}, {"to", 0}, {"candidate", nullptr}});
    auto got = host_inbox.take();
    REQUIRE(got.size() == 1);
    CHECK(got[0].at("from") == fresh->id());
}

TEST_CASE("a local participant can answer from inside its handler", "[local]") {
    // The hub calls the handler without holding a lock, so it may send.
    Hub hub;
    std::shared_ptr<LocalParticipant> host;
    host = hub.join_local("", [&](const json& m) {
        if (m.at("type") == "peer-connect")
            host->send({{"type", "peer-response"}, {"to", m.at("from")}, {"desc", {{"type", "answer"}, {"sdp", ""}}}});
    });
    auto users = join_quietly(hub, 1);
    users[0].send(hub, peer_connect(0));
    auto got = take_one(users[0]);
    CHECK(got.at("type") == "peer-response");
    CHECK(got.at("from") == 0);
}

TEST_CASE("the local participant's leave tells the others once, the destructor leaves too", "[local]") {
    Hub hub;
    std::vector<UserEvent> left;
    hub.on_leave([&](const UserEvent& e) { left.push_back(e); });
    auto users = join_quietly(hub, 1);
    Inbox inbox;
    auto host = hub.join_local("", inbox.handler());
    users[0].connection->take();

    host->leave();
    CHECK(take_one(users[0]) == json::parse(R"({"type":"user-left","userId":0})"));
    host->leave();
    host.reset();  // destructor: leaves again, which must do nothing
    CHECK(users[0].connection->take().empty());
    REQUIRE(left.size() == 1);
    CHECK(left[0].id == 0);
    CHECK(left[0].remote_address.empty());
    CHECK(hub.counters().connections_open == 1);

    CHECK(error_code(hub, users[0], peer_connect(0)) == "unknown-recipient");

    auto fresh = hub.join_local("", inbox.handler(), Hub::LocalId::fresh);
    auto id = fresh->id();
    users[0].connection->take();
    fresh.reset();
    CHECK(take_one(users[0]) == json({{"type", "user-left"}, {"userId", id}}));
    CHECK(left.size() == 2);
}

TEST_CASE("a local participant that left sends nothing and receives nothing", "[local]") {
    Hub hub;
    auto users = join_quietly(hub, 1);
    Inbox inbox;
    auto host = hub.join_local("", inbox.handler());
    host->leave();
    inbox.take();
    users[0].connection->take();
    host->send({{"type", "peer-candidate"}, {"to", users[0].id()}, {"candidate", nullptr}});
    CHECK(users[0].connection->take().empty());
    CHECK(inbox.take().empty());
}

TEST_CASE("a local participant is confined to its room", "[local]") {
    Hub hub;
    Inbox inbox;
    auto host = hub.join_local("a", inbox.handler());
    auto other = join(hub, "/room/b");
    CHECK(other.connection->take().at(0).at("users") == json::array());
    CHECK(error_code(hub, other, peer_connect(0)) == "unknown-recipient");
    inbox.take();
    host->send({{"type", "peer-candidate"}, {"to", other.id()}, {"candidate", nullptr}});
    auto got = inbox.take();
    REQUIRE(got.size() == 1);
    CHECK(got[0].at("code") == "unknown-recipient");
    CHECK(other.connection->take().empty());
}

TEST_CASE("join_local into a full room throws runtime_error", "[local][limits]") {
    Options options;
    options.limits.max_users_per_room = 1;
    options.limits.max_rooms = 2;
    Hub hub(options);
    auto remote = join(hub, "/room/a");
    CHECK_THROWS_AS(hub.join_local("a", {}), std::runtime_error);
    auto other = join(hub, "/room/b");
    CHECK_THROWS_AS(hub.join_local("c", {}, Hub::LocalId::fresh), std::runtime_error);
    CHECK(hub.counters().connections_open == 2);
    // The refused host did not keep ID 0.
    hub.leave(*remote.session);
    CHECK(hub.join_local("a", {})->id() == 0);
}

TEST_CASE("a client's message the host cannot parse must not escape into the sender's receive", "[local]") {
    // 1e400 passes the hub's JSON check but nlohmann (which the local
    // connection uses to hand messages to the handler) refuses it. The
    // sender's receive() call must not throw because of the recipient.
    Hub hub;
    Inbox inbox;
    auto host = hub.join_local("", inbox.handler());
    auto users = join_quietly(hub, 1);
    inbox.take();
    CHECK_NOTHROW(users[0].send(hub, peer_connect(0, R"(,"n":1e400)")));
    // Either the sender was told, or the host got it.
    auto answered = users[0].connection->take();
    auto delivered = inbox.take();
    CHECK(answered.size() + delivered.size() == 1);
}

TEST_CASE("a local handler that throws is logged, the sender and the room carry on", "[local]") {
    Options options;
    std::vector<std::string> lines;
    std::mutex lines_mutex;
    options.log_sink = [&](LogLevel, std::string_view line) {
        std::lock_guard lock(lines_mutex);
        lines.emplace_back(line);
    };
    Hub hub(options);
    int calls = 0;
    auto host = hub.join_local("", [&](const json& m) {
        if (m.value("type", "") == "peer-connect" && ++calls == 1) throw std::runtime_error("host bug");
    });
    auto users = join_quietly(hub, 2);
    users[0].send(hub, peer_connect(host_user_id));  // thrown inside the host's handler
    CHECK(users[0].connection->take().empty());      // the sender is not blamed
    users[0].send(hub, peer_connect(users[1].id()));
    CHECK(take_one(users[1]).at("from") == users[0].id());
    users[0].send(hub, peer_connect(host_user_id));  // the host still receives
    CHECK(calls == 2);
    std::lock_guard lock(lines_mutex);
    CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
              return l.find("local participant's handler threw: host bug") != std::string::npos;
          }) == 1);
}

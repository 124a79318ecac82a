// Two hubs in one process, each a node of the same cluster on a real
// redis-server: the host's local participants, and what a host sees
// through the library's API (no network adapter involved).
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <switchboard/redis.hpp>
#include <switchboard/switchboard.hpp>

#include "catch.hpp"
#include "support/redis_server.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

/** What a local participant receives, from whichever thread delivers it. */
class Inbox {
public:
    switchboard::LocalHandler handler() {
        return [this](const json& m) {
            std::lock_guard lock(mutex_);
            messages_.push_back(m);
            arrived_.notify_all();
        };
    }

    /** The next message, waiting up to 5 s; a null json when none came. */
    json next() {
        std::unique_lock lock(mutex_);
        if (!arrived_.wait_for(lock, 5s, [&] { return !messages_.empty(); })) return json();
        auto m = messages_.front();
        messages_.pop_front();
        return m;
    }

private:
    std::mutex mutex_;
    std::condition_variable arrived_;
    std::deque<json> messages_;
};

struct Node {
    explicit Node(const switchboard::test::RedisServer& redis) : cluster(options(redis)) {
        if (auto error = cluster.start()) throw std::runtime_error(error->message);
        switchboard::Options o;
        o.directory = cluster.directory();
        hub = std::make_unique<switchboard::Hub>(o);
    }
    static switchboard::redis::ClusterOptions options(const switchboard::test::RedisServer& redis) {
        switchboard::redis::ClusterOptions o;
        o.url = redis.url();
        o.node_lease = 2s;
        return o;
    }
    switchboard::redis::Cluster cluster;  // outlives the hub
    std::unique_ptr<switchboard::Hub> hub;
};

}  // namespace

TEST_CASE("cluster: ID 0 is one host's at a time across the cluster, local participants see every node", "[cluster]") {
    switchboard::test::RedisServer redis;
    Node n1(redis), n2(redis);
    Inbox host_inbox, guest_inbox;
    auto host = n1.hub->join_local("r", host_inbox.handler(), switchboard::Hub::LocalId::host);
    CHECK(host->id() == 0);
    CHECK(host_inbox.next()["type"] == "login");

    // The other node's host cannot take ID 0 while the first holds it.
    CHECK_THROWS_AS(n2.hub->join_local("r", {}, switchboard::Hub::LocalId::host), std::logic_error);

    auto guest = n2.hub->join_local("r", guest_inbox.handler(), switchboard::Hub::LocalId::fresh);
    auto login = guest_inbox.next();
    CHECK(login["type"] == "login");
    CHECK(login["users"] == json::array({0}));
    auto joined = host_inbox.next();
    CHECK(joined["type"] == "user-joined");
    CHECK(joined["userId"] == guest->id());

    // Routed across nodes to and from the host, as for any user.
    guest->send({{"type", "peer-candidate"}, {"to", 0}, {"candidate", nullptr}});
    auto got = host_inbox.next();
    CHECK(got["type"] == "peer-candidate");
    CHECK(got["from"] == guest->id());
    host->send({{"type", "peer-candidate"}, {"to", guest->id()}, {"candidate", nullptr}});
    auto back = guest_inbox.next();
    CHECK(back["from"] == 0);

    host->leave();
    auto left = guest_inbox.next();
    CHECK(left["type"] == "user-left");
    CHECK(left["userId"] == 0);
    // Released: the other node's host may take it now.
    auto second_host = n2.hub->join_local("r", {}, switchboard::Hub::LocalId::host);
    CHECK(second_host->id() == 0);
    CHECK(n2.hub->counters().connections_open == 2);
}

TEST_CASE("cluster: profiles reach the users of every node, in login and user-joined", "[cluster][profiles]") {
    switchboard::test::RedisServer redis;
    Node n1(redis), n2(redis);
    Inbox ann_inbox, bo_inbox, cy_inbox;
    using switchboard::Hub;
    auto ann = n1.hub->join_local("r", ann_inbox.handler(), Hub::LocalId::fresh, {{"name", "Ann"}});
    CHECK(ann_inbox.next()["profile"] == json{{"name", "Ann"}});
    auto bo = n2.hub->join_local("r", bo_inbox.handler(), Hub::LocalId::fresh, {{"name", "Bo"}, {"seat", 4}});
    auto login = bo_inbox.next();
    CHECK(login["users"] == json::array({ann->id()}));
    CHECK(login["profiles"] == json{{std::to_string(ann->id()), {{"name", "Ann"}}}});
    CHECK(ann_inbox.next() ==
          json{{"type", "user-joined"}, {"userId", bo->id()}, {"profile", {{"name", "Bo"}, {"seat", 4}}}});
    // A third user on the first node learns both, the remote one included.
    auto cy = n1.hub->join_local("r", cy_inbox.handler(), Hub::LocalId::fresh);
    login = cy_inbox.next();
    CHECK(login["profiles"] == json{{std::to_string(ann->id()), {{"name", "Ann"}}},
                                    {std::to_string(bo->id()), {{"name", "Bo"}, {"seat", 4}}}});
    CHECK(bo_inbox.next() == json{{"type", "user-joined"}, {"userId", cy->id()}, {"profile", json::object()}});
    cy->leave();
    bo->leave();
    ann->leave();
}

// Several switchboard-server processes on one real redis-server, driven by
// real WebSocket clients: what the users of one room see when they are
// spread over nodes, and what happens when a node or Redis fails.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "support/cluster_fixture.hpp"

using namespace switchboard::test;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

/** A logged-in client and the `login` it got. */
struct User {
    std::unique_ptr<WsClient> ws = std::make_unique<WsClient>();
    json login;
    std::uint64_t id() const { return ws->id(); }
    std::vector<std::uint64_t> users() const { return login["users"].get<std::vector<std::uint64_t>>(); }
};

User join(const Node& node, const std::string& target = "/room/r") {
    User u;
    auto login = u.ws->login(node.port, target);
    REQUIRE(login);
    REQUIRE((*login)["type"] == "login");
    u.login = *login;
    return u;
}

void expect_presence(User& u, const char* type, std::uint64_t id, std::chrono::milliseconds timeout = 5s) {
    auto m = u.ws->receive(timeout);
    INFO("user " << u.id() << " expected " << type << " " << id);
    REQUIRE(m);
    CHECK((*m)["type"] == type);
    CHECK((*m)["userId"] == id);
}

/** A user on `first`, then one on `second`, in room "r"; the first has heard of the second. */
std::pair<User, User> meet(const Node& first, const Node& second) {
    auto a = join(first);
    auto b = join(second);
    expect_presence(a, "user-joined", b.id());
    return {std::move(a), std::move(b)};
}

/**
 * Nothing else is on its way to `to`: `from` (on another node) sends it a
 * marker, and the marker is the next thing `to` gets. A node reads every
 * channel through one subscription, in the order Redis published, so
 * presence published before the marker would arrive before it.
 */
void expect_nothing_before_marker(User& to, User& from) {
    static int count = 0;
    const std::string marker = std::to_string(++count);
    REQUIRE(from.ws->send(R"({"type":"peer-candidate","candidate":null,"x-marker":)" + marker + R"(,"to":)" +
                          std::to_string(to.id()) + "}"));
    auto m = to.ws->receive();
    REQUIRE(m);
    INFO("user " << to.id() << " got " << m->dump());
    CHECK((*m)["x-marker"] == std::stoi(marker));
    CHECK((*m)["from"] == from.id());
}

std::vector<std::unique_ptr<Node>> three_nodes(const RedisServer& redis, const std::vector<std::string>& flags) {
    std::vector<std::unique_ptr<Node>> nodes;
    for (int i = 0; i < 3; ++i)
        nodes.push_back(std::make_unique<Node>(redis, flags));
    return nodes;
}

struct JoinCounts {
    int admitted = 0, refused = 0, other = 0;
};

/**
 * `count` clients connect at once, client i to node i % 3 at `path(i)`, each
 * from its own loopback address (so only the server-wide limits apply).
 * Counts the logins, the refusals with `code`, and anything else.
 */
JoinCounts join_at_once(const std::vector<std::unique_ptr<Node>>& nodes, std::size_t count,
                        const std::function<std::string(std::size_t)>& path, const std::string& code) {
    std::atomic<int> admitted{0}, refused{0}, other{0};
    std::vector<std::unique_ptr<WsClient>> clients(count);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < count; ++i)
        threads.emplace_back([&, i] {
            clients[i] = std::make_unique<WsClient>();
            clients[i]->bind_to("127.0.3." + std::to_string(i + 1));
            auto first = clients[i]->connect(nodes[i % nodes.size()]->port, path(i)) == 101 ? clients[i]->receive()
                                                                                            : std::nullopt;
            if (first && (*first)["type"] == "login")
                ++admitted;
            else if (first && (*first)["code"] == code)
                ++refused;
            else
                ++other;
        });
    for (auto& t : threads)
        t.join();
    return {admitted.load(), refused.load(), other.load()};
}

}  // namespace

TEST_CASE("cluster: login lists and presence cover every node, exactly once", "[cluster]") {
    RedisServer redis;
    Node n1(redis), n2(redis), n3(redis);
    auto a = join(n1);
    CHECK(a.users().empty());
    auto b = join(n2);
    CHECK(b.users() == std::vector<std::uint64_t>{a.id()});
    expect_presence(a, "user-joined", b.id());
    auto c = join(n3);
    auto expected = std::vector<std::uint64_t>{a.id(), b.id()};
    std::sort(expected.begin(), expected.end());
    CHECK(c.users() == expected);
    expect_presence(a, "user-joined", c.id());
    expect_presence(b, "user-joined", c.id());
    // Another room on the same nodes is another world.
    auto elsewhere = join(n2, "/room/other");
    CHECK(elsewhere.users().empty());

    auto neighbour = join(n1, "/room/other");
    expect_presence(elsewhere, "user-joined", neighbour.id());

    CHECK(b.ws->close());
    expect_presence(a, "user-left", b.id());
    expect_presence(c, "user-left", b.id());
    expect_nothing_before_marker(a, c);
    expect_nothing_before_marker(c, a);
    expect_nothing_before_marker(elsewhere, neighbour);
}

TEST_CASE("cluster: messages to a user on another node arrive byte for byte, from spliced in", "[cluster]") {
    RedisServer redis;
    Node n1(redis), n2(redis);
    auto [a, b] = meet(n1, n2);
    const std::string to = std::to_string(b.id());
    const std::string from = std::to_string(a.id());
    const std::pair<std::string, std::string> cases[] = {
        {R"({"type":"peer-connect","to":)" + to + R"(,"desc":{"type":"offer","sdp":"v=0\r\n"},"x-app":[1,{"k":"v"}]})",
         R"({"from":)" + from +
             R"(,"type":"peer-connect","desc":{"type":"offer","sdp":"v=0\r\n"},"x-app":[1,{"k":"v"}]})"},
        {R"({"type":"peer-response","desc":{"type":"answer","sdp":"v=0"},"to":)" + to + "}",
         R"({"from":)" + from + R"(,"type":"peer-response","desc":{"type":"answer","sdp":"v=0"}})"},
        {R"({"to":)" + to +
             R"(,"type":"peer-candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}})",
         R"({"from":)" + from +
             R"(,"type":"peer-candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}})"},
        {R"({"type":"peer-candidate","to":)" + to + R"(,"candidate":null})",
         R"({"from":)" + from + R"(,"type":"peer-candidate","candidate":null})"},
    };
    for (auto& [sent, expected] : cases) {
        REQUIRE(a.ws->send(sent));
        auto got = b.ws->receive_text();
        REQUIRE(got);
        CHECK(*got == expected);
    }
    // The same validation as on one node: the sender hears why, nothing is forwarded.
    REQUIRE(a.ws->send(R"({"type":"peer-connect","to":)" + to + R"(,"desc":{"type":"offer"}})"));
    auto error = a.ws->receive();
    REQUIRE(error);
    CHECK((*error)["code"] == "invalid-message");
    // Isolation: a user of another room, on the other node, is unknown here.
    auto other = join(n2, "/room/other");
    REQUIRE(a.ws->send(R"({"type":"peer-candidate","candidate":null,"to":)" + std::to_string(other.id()) + "}"));
    auto unknown = a.ws->receive();
    REQUIRE(unknown);
    CHECK((*unknown)["code"] == "unknown-recipient");
    expect_nothing_before_marker(b, a);
}

TEST_CASE("cluster: a burst across nodes arrives whole and in order", "[cluster]") {
    RedisServer redis;
    Node n1(redis, {"--node-name", "first"}), n2(redis);
    auto [a, b] = meet(n1, n2);
    const int count = 500;
    for (int i = 0; i < count; ++i)
        REQUIRE(a.ws->send(R"({"type":"peer-candidate","to":)" + std::to_string(b.id()) +
                           R"(,"candidate":{"candidate":"candidate:)" + std::to_string(i) +
                           R"( 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}})"));
    for (int i = 0; i < count; ++i) {
        auto m = b.ws->receive();
        REQUIRE(m);
        REQUIRE((*m)["candidate"]["candidate"].get<std::string>().rfind("candidate:" + std::to_string(i) + " ", 0) ==
                0);
    }
    CHECK(n1.metric("switchboard_cluster_deliveries_sent_total") >= count);
    CHECK(n2.metric("switchboard_cluster_deliveries_received_total") >= count);
    CHECK(eventually([&] { return n1.metric("switchboard_cluster_nodes_alive") == 2; }, 3s));
    CHECK(n1.metric("switchboard_cluster_serving") == 1);
    CHECK(http_request(n1.port, "GET", "/metrics").body.find("switchboard_cluster_node_info{name=\"first\"} 1") !=
          std::string::npos);
    CHECK(n1.health() == 200);
}

TEST_CASE("cluster: IDs are unique across nodes", "[cluster]") {
    RedisServer redis;
    std::vector<std::unique_ptr<Node>> nodes;
    for (int i = 0; i < 3; ++i)  // the clients hang up without a close frame: let them leave at once
        nodes.push_back(std::make_unique<Node>(redis, std::vector<std::string>{"--resume-window", "0"}));
    std::mutex mutex;
    std::set<std::uint64_t> ids;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    const int per_node = 700;
    for (auto& node : nodes)
        threads.emplace_back([&, port = node->port] {
            for (int i = 0; i < per_node; ++i) {
                WsClient c;
                auto login = c.login(port, "/room/ids-" + std::to_string(i % 7));
                if (!login) {
                    ++failures;
                    continue;
                }
                std::lock_guard lock(mutex);
                ids.insert(c.id());
            }
        });
    for (auto& t : threads)
        t.join();
    CHECK(failures == 0);
    CHECK(ids.size() == 3u * per_node);
}

TEST_CASE("cluster: the room size limit holds exactly under concurrent joins on every node", "[cluster]") {
    RedisServer redis;
    auto nodes = three_nodes(redis, {"--max-room-size", "4"});
    auto counts = join_at_once(
        nodes, 15, [](std::size_t) { return std::string("/room/small"); }, "room-full");
    CHECK(counts.admitted == 4);
    CHECK(counts.refused == 11);
    CHECK(counts.other == 0);
}

TEST_CASE("cluster: the room count limit holds exactly under concurrent joins on every node", "[cluster]") {
    RedisServer redis;
    auto nodes = three_nodes(redis, {"--max-rooms", "3"});
    auto counts = join_at_once(
        nodes, 12, [](std::size_t i) { return "/room/own-" + std::to_string(i); }, "too-many-rooms");
    CHECK(counts.admitted == 3);
    CHECK(counts.refused == 9);
    CHECK(counts.other == 0);
}

TEST_CASE("cluster: a node killed with SIGKILL: its users leave everyone's rooms within the lease", "[cluster]") {
    RedisServer redis;
    Node n1(redis), n2(redis);
    auto n3 = std::make_unique<Node>(redis);
    auto a = join(n1);
    auto c1 = join(*n3);
    expect_presence(a, "user-joined", c1.id());
    auto c2 = join(*n3);
    expect_presence(a, "user-joined", c2.id());
    auto b = join(n2);
    expect_presence(a, "user-joined", b.id());
    n3->process->signal(SIGKILL);
    n3->process->wait();
    // Lease 1 s, renewed (and the dead reaped) every third of it.
    std::set<std::uint64_t> left_a, left_b;
    for (int i = 0; i < 2; ++i) {
        auto m = a.ws->receive(6s);
        REQUIRE(m);
        CHECK((*m)["type"] == "user-left");
        left_a.insert((*m)["userId"].get<std::uint64_t>());
        auto n = b.ws->receive(6s);
        REQUIRE(n);
        CHECK((*n)["type"] == "user-left");
        left_b.insert((*n)["userId"].get<std::uint64_t>());
    }
    CHECK(left_a == std::set<std::uint64_t>{c1.id(), c2.id()});
    CHECK(left_b == left_a);
    // The room has room again for exactly the others.
    auto d = join(n2);
    auto expected = std::vector<std::uint64_t>{a.id(), b.id()};
    std::sort(expected.begin(), expected.end());
    CHECK(d.users() == expected);
    CHECK(eventually([&] { return n1.metric("switchboard_cluster_nodes_alive") == 2; }, 5s));
    expect_presence(a, "user-joined", d.id());
    expect_nothing_before_marker(a, d);
}

TEST_CASE("cluster: a node frozen past its lease is fenced: its users are closed, it serves again", "[cluster]") {
    RedisServer redis;
    Node n1(redis), n2(redis);
    auto [a, b] = meet(n1, n2);
    n2.process->signal(SIGSTOP);
    expect_presence(a, "user-left", b.id(), 6s);
    n2.process->signal(SIGCONT);
    // Thawed, it finds its lease gone and closes its users: they would be ghosts.
    CHECK(b.ws->wait_closed(5s) == 1013);
    CHECK(eventually([&] { return n2.health() == 200; }, 5s));
    CHECK(n2.metric("switchboard_cluster_fenced_total") == 1);
    auto d = join(n2);
    CHECK(d.users() == std::vector<std::uint64_t>{a.id()});
    expect_presence(a, "user-joined", d.id());
    expect_nothing_before_marker(a, d);
}

TEST_CASE("cluster: Redis gone longer than the lease: users closed, joins refused, all back when it returns",
          "[cluster]") {
    RedisServer redis;
    Node n1(redis), n2(redis);
    auto [a, b] = meet(n1, n2);
    std::set<std::uint64_t> before = {a.id(), b.id()};
    redis.kill();
    CHECK(a.ws->wait_closed(6s) == 1013);
    CHECK(b.ws->wait_closed(6s) == 1013);
    CHECK(eventually([&] { return n1.health() == 503; }, 3s));
    WsClient refused;
    REQUIRE(refused.connect(n1.port, "/room/r") == 101);
    auto error = refused.receive();
    REQUIRE(error);
    CHECK((*error)["code"] == "cluster-unavailable");
    CHECK(refused.wait_closed() == 1013);

    // The same port, nothing kept: IDs must still not repeat. The nodes
    // finish the blocks they had; a new node's block comes from the new
    // counter, which starts past every ID handed out before.
    redis.start();
    CHECK(eventually([&] { return n1.health() == 200 && n2.health() == 200; }, 10s));
    auto a2 = join(n1);
    auto b2 = join(n2);
    CHECK(b2.users() == std::vector<std::uint64_t>{a2.id()});
    expect_presence(a2, "user-joined", b2.id());
    Node n3(redis);
    auto c2 = join(n3);
    for (auto id : {a2.id(), b2.id(), c2.id()})
        CHECK(before.count(id) == 0);
    CHECK(c2.id() > *before.rbegin() + 1024);
    CHECK(n1.metric("switchboard_cluster_reconnects_total") >= 1);
}

TEST_CASE("cluster: Redis unreachable for less than the lease: users stay, what happened meanwhile is caught up",
          "[cluster]") {
    RedisServer redis;
    const std::vector<std::string> lease = {"--node-lease", "10"};
    Node n1(redis, lease), n2(redis, lease);
    auto [a, b] = meet(n1, n2);
    redis.signal(SIGSTOP);
    // A command times out: the nodes stop taking joins, and say so.
    CHECK(eventually([&] { return n1.health() == 503 && n2.health() == 503; }, 6s));
    WsClient refused;
    REQUIRE(refused.connect(n1.port, "/room/r") == 101);
    auto error = refused.receive();
    REQUIRE(error);
    CHECK((*error)["code"] == "cluster-unavailable");
    CHECK(b.ws->close());  // its leave has to wait for Redis
    redis.signal(SIGCONT);
    CHECK(eventually([&] { return n1.health() == 200 && n2.health() == 200; }, 10s));
    expect_presence(a, "user-left", b.id());
    auto c = join(n2);
    CHECK(c.users() == std::vector<std::uint64_t>{a.id()});
    expect_presence(a, "user-joined", c.id());
    expect_nothing_before_marker(a, c);
    CHECK(n1.metric("switchboard_cluster_fenced_total") == 0);
    CHECK(n1.metric("switchboard_cluster_reconnects_total") >= 1);
}

TEST_CASE("cluster: a node cut off by Redis's pub/sub output limit reconnects and catches up", "[cluster]") {
    RedisServer redis;
    const std::vector<std::string> lease = {"--node-lease", "10"};
    Node n1(redis, lease), n2(redis, lease);
    auto [a, b] = meet(n1, n2);
    REQUIRE(redis_command(redis.port(), {"CONFIG", "SET", "client-output-buffer-limit", "pubsub 64kb 0 0"}) ==
            "+OK\r\n");
    // n2 stops reading its subscription while 16 MB are published for it (more than
    // the kernel's socket buffers hold): Redis cuts it off.
    n2.process->signal(SIGSTOP);
    const std::string padding(8000, 'x');
    for (int i = 0; i < 2000; ++i)
        REQUIRE(a.ws->send(R"({"type":"peer-candidate","to":)" + std::to_string(b.id()) +
                           R"(,"candidate":{"candidate":")" + padding + R"(","sdpMid":"0"}})"));
    std::this_thread::sleep_for(500ms);
    n2.process->signal(SIGCONT);
    CHECK(eventually([&] { return n2.metric("switchboard_cluster_reconnects_total") >= 1; }, 10s));
    CHECK(eventually([&] { return n2.health() == 200; }, 10s));
    // What came before the cut may be partly lost (counted); what comes after arrives.
    REQUIRE(
        a.ws->send(R"({"type":"peer-candidate","candidate":null,"x-after":1,"to":)" + std::to_string(b.id()) + "}"));
    bool after_arrived = false;
    for (int i = 0; i < 2100 && !after_arrived; ++i) {
        auto m = b.ws->receive();
        REQUIRE(m);
        after_arrived = m->contains("x-after");
    }
    CHECK(after_arrived);
    CHECK(n2.metric("switchboard_cluster_fenced_total") == 0);
}

TEST_CASE("cluster: a node that stops cleanly takes its users out at once, a new node joins in", "[cluster]") {
    RedisServer redis;
    Node n1(redis);
    auto n2 = std::make_unique<Node>(redis, std::vector<std::string>{"--node-lease", "30"});
    auto a = join(n1);
    auto b = join(*n2);
    expect_presence(a, "user-joined", b.id());
    n2->process->signal(SIGTERM);
    // Far sooner than its 30 s lease.
    expect_presence(a, "user-left", b.id(), 3s);
    CHECK(b.ws->wait_closed() == 1001);
    CHECK(n2->process->wait(5s) == 0);
    n2 = std::make_unique<Node>(redis);
    auto c = join(*n2);
    CHECK(c.users() == std::vector<std::uint64_t>{a.id()});
    expect_presence(a, "user-joined", c.id());
}

TEST_CASE("cluster: host control through one node's admin API covers users on every node", "[cluster][admin]") {
    RedisServer redis;
    auto dir = fs::temp_directory_path() / ("switchboard-admin-" + std::to_string(getpid()));
    fs::create_directories(dir);
    { std::ofstream(dir / "token") << "cluster-admin\n"; }
    const std::vector<std::string> flags = {"--admin-token-file", (dir / "token").string(), "--allow-client-names"};
    Node n1(redis, flags), n2(redis, flags);
    const Headers auth = {{"Authorization", "Bearer cluster-admin"}};
    auto admin = [&](std::string_view method, std::string_view target, std::string_view body = {}) {
        auto r = http_request(n1.port, method, target, auth, 5s, body);
        INFO(method << " " << target << " -> " << r.status << " " << r.body);
        return std::make_pair(r.status, json::parse(r.body, nullptr, false));
    };
    auto ann = join(n1, "/room/r?name=Ann");
    auto bo = join(n2, "/room/r?name=Bo");
    auto cy = join(n2, "/room/far?name=Cy");  // a room nobody on n1 is in
    expect_presence(ann, "user-joined", bo.id());

    CHECK(admin("GET", "/admin/rooms").second == json{{"rooms", {"far", "r"}}});
    auto users = admin("GET", "/admin/users?room=r").second["users"];
    CHECK(users == json{{{"userId", ann.id()}, {"profile", {{"name", "Ann"}}}},
                        {{"userId", bo.id()}, {"profile", {{"name", "Bo"}}}}});
    CHECK(admin("GET", "/admin/users?room=far").second["users"] ==
          json{{{"userId", cy.id()}, {"profile", {{"name", "Cy"}}}}});

    // A message for a user on the other node goes through Redis.
    CHECK(admin("POST", "/admin/send", R"({"to":)" + std::to_string(cy.id()) + R"(,"message":{"type":"notice"}})")
              .first == 200);
    CHECK(*cy.ws->receive() == json{{"type", "notice"}});
    CHECK(admin("POST", "/admin/broadcast", R"({"room":"r","message":{"type":"notice","n":2}})").second ==
          json{{"sent", 2}});
    CHECK((*ann.ws->receive())["n"] == 2);
    CHECK((*bo.ws->receive())["n"] == 2);

    // Removing a user held by the other node: that node closes it, everybody hears.
    CHECK(admin("POST", "/admin/disconnect", R"({"userId":)" + std::to_string(bo.id()) + R"(,"code":4003})").second ==
          json{{"disconnected", true}});
    CHECK(bo.ws->wait_closed() == 4003);
    expect_presence(ann, "user-left", bo.id());
    CHECK(admin("POST", "/admin/disconnect", R"({"userId":)" + std::to_string(bo.id()) + "}").first == 404);
    CHECK(admin("POST", "/admin/send", R"({"to":)" + std::to_string(bo.id()) + R"(,"message":{"type":"notice"}})")
              .first == 404);
    fs::remove_all(dir);
}

TEST_CASE("cluster: a user waiting to resume, removed through another node, leaves at once and cannot resume",
          "[cluster][resume][admin]") {
    RedisServer redis;
    auto dir = fs::temp_directory_path() / ("switchboard-remove-" + std::to_string(getpid()));
    fs::create_directories(dir);
    { std::ofstream(dir / "token") << "cluster-admin\n"; }
    const std::vector<std::string> flags = {"--admin-token-file", (dir / "token").string(), "--resume-window", "60"};
    Node n1(redis, flags), n2(redis, flags);
    auto [a, b] = meet(n1, n2);
    const auto id = a.id();
    const auto token = a.login["resume"].get<std::string>();
    a.ws.reset();  // the connection breaks: n1 keeps it waiting, for a minute
    REQUIRE(eventually([&] { return n1.metric("switchboard_sessions_suspended") == 1; }, 5s));
    auto r = http_request(n2.port, "POST", "/admin/disconnect", {{"Authorization", "Bearer cluster-admin"}}, 5s,
                          R"({"userId":)" + std::to_string(id) + "}");
    INFO(r.body);
    CHECK(r.status == 200);
    expect_presence(b, "user-left", id);  // now, not when the minute is up
    User back;
    auto login = back.ws->login(n1.port, "/room/r?resume=" + token);
    REQUIRE(login);
    CHECK((*login)["userId"] != id);
    CHECK_FALSE(login->contains("resumed"));
    fs::remove_all(dir);
}

TEST_CASE("cluster: a user whose connection broke resumes on another node, nobody hears of it", "[cluster][resume]") {
    RedisServer redis;
    Node n1(redis), n2(redis), n3(redis);
    auto [a, b] = meet(n1, n3);
    const auto id = a.id();
    const auto token = a.login["resume"].get<std::string>();
    a.ws.reset();  // the connection breaks: no close frame
    REQUIRE(eventually([&] { return n1.metric("switchboard_sessions_suspended") == 1; }, 5s));
    // Routed to it while it is away: n1 keeps these.
    for (int n = 1; n <= 3; ++n)
        REQUIRE(b.ws->send(R"({"type":"peer-candidate","candidate":null,"n":)" + std::to_string(n) + R"(,"to":)" +
                           std::to_string(id) + "}"));
    // Give the messages time to reach n1 before the resume reaches n2.
    std::this_thread::sleep_for(300ms);

    User back;
    auto login = back.ws->login(n2.port, "/room/r?resume=" + token);
    REQUIRE(login);
    back.login = *login;
    CHECK(back.id() == id);
    CHECK(back.login.value("resumed", false));
    CHECK(back.users() == std::vector<std::uint64_t>{b.id()});
    for (int n = 1; n <= 3; ++n) {
        auto kept = back.ws->receive();
        REQUIRE(kept);
        INFO(kept->dump());
        CHECK((*kept)["n"] == n);
        CHECK((*kept)["from"] == b.id());
    }
    // Routing follows it to n2, and b heard nothing of the move.
    expect_nothing_before_marker(back, b);
    expect_nothing_before_marker(b, back);
    CHECK(http_request(n2.port, "GET", "/metrics").body.find("switchboard_sessions_resumed_total 1") !=
          std::string::npos);
    CHECK(http_request(n1.port, "GET", "/metrics").body.find("switchboard_sessions_suspended 0") != std::string::npos);
    // A newcomer on n1 sees it in the room, on its new node.
    auto c = join(n1);
    auto expected = std::vector<std::uint64_t>{id, b.id()};
    std::sort(expected.begin(), expected.end());
    CHECK(c.users() == expected);
    expect_presence(back, "user-joined", c.id());
    expect_presence(b, "user-joined", c.id());
    expect_nothing_before_marker(back, c);
    // It leaves as any user does: once.
    CHECK(back.ws->close());
    expect_presence(b, "user-left", id);
    expect_presence(c, "user-left", id);
    expect_nothing_before_marker(b, c);
}

TEST_CASE("cluster: a resume token is used once across nodes, a wrong one joins afresh", "[cluster][resume]") {
    RedisServer redis;
    Node n1(redis), n2(redis);
    auto [a, b] = meet(n1, n2);
    const auto id = b.id();
    auto token = b.login["resume"].get<std::string>();
    b.ws.reset();
    // n2 must have seen the connection break before anyone resumes it.
    REQUIRE(eventually([&] { return n2.metric("switchboard_sessions_suspended") == 1; }, 5s));
    auto wrong = token;
    wrong.back() = wrong.back() == '0' ? '1' : '0';
    User impostor;
    auto login = impostor.ws->login(n1.port, "/room/r?resume=" + wrong);
    REQUIRE(login);
    CHECK((*login)["userId"] != id);
    CHECK_FALSE(login->contains("resumed"));
    auto refusal = impostor.ws->receive();
    REQUIRE(refusal);
    CHECK((*refusal)["code"] == "resume-failed");
    expect_presence(a, "user-joined", impostor.id());

    User back;
    login = back.ws->login(n1.port, "/room/r?resume=" + token);
    REQUIRE(login);
    CHECK((*login)["userId"] == id);
    CHECK((*login)["resumed"] == true);
    back.ws.reset();
    User again;
    login = again.ws->login(n2.port, "/room/r?resume=" + token);  // the old token, used already
    REQUIRE(login);
    CHECK((*login)["userId"] != id);
}

TEST_CASE("cluster: flags need --redis, a bad URL fails at start", "[cluster]") {
    ChildProcess lease({SWITCHBOARD_SERVER_EXE, "--node-lease", "2"});
    CHECK(lease.wait() == 2);
    ChildProcess url({SWITCHBOARD_SERVER_EXE, "--port", "0", "--redis", "redis://:x@/"});
    CHECK(url.wait() == 2);
    ChildProcess short_lease({SWITCHBOARD_SERVER_EXE, "--redis", "redis://127.0.0.1", "--node-lease", "0.1"});
    CHECK(short_lease.wait() == 2);
}

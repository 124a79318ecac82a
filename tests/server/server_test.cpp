// switchboard-server as a real process: flags, the listening line, HTTP
// routes, static files, metrics, Origin checks, TLS and signal shutdown.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <thread>

#include "catch.hpp"
#include "support/client.hpp"
#include "support/process.hpp"

using namespace switchboard::test;
namespace fs = std::filesystem;

using json = nlohmann::json;

namespace {

/** A running switchboard-server on a free port. */
struct Server {
    explicit Server(std::vector<std::string> flags = {}) : process(args(std::move(flags)), SWITCHBOARD_TEST_STDERR) {
        REQUIRE(process.started());
        auto line = process.read_line();
        REQUIRE(line);
        first_line = *line;
        std::smatch m;
        static const std::regex listening(R"(listening on (wss?)://127\.0\.0\.1:([0-9]+)/)");
        REQUIRE(std::regex_match(first_line, m, listening));
        scheme = m[1];
        port = static_cast<std::uint16_t>(std::stoi(m[2]));
    }

    static std::vector<std::string> args(std::vector<std::string> flags) {
        std::vector<std::string> all = {SWITCHBOARD_SERVER_EXE, "--port", "0", "--threads", "2",
                                        "--log-level",          "debug"};
        all.insert(all.end(), flags.begin(), flags.end());
        return all;
    }

    ChildProcess process;
    std::string first_line;
    std::string scheme;
    std::uint16_t port = 0;
};

fs::path temp_dir(const std::string& name) {
    std::random_device random;
    auto dir = fs::temp_directory_path() / ("switchboard-" + name + "-" + std::to_string(random()));
    fs::create_directories(dir);
    return dir;
}

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

/** The process's resident memory in KiB (VmRSS), 0 if unknown. */
long resident_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return 0;
}

/** How many of the process's file descriptors are open on `file`. */
int descriptors_on(pid_t pid, const fs::path& file) {
    int count = 0;
    std::error_code ec;
    for (auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        std::error_code link_error;
        if (fs::read_symlink(fd.path(), link_error) == file) ++count;
    }
    return count;
}

}  // namespace

TEST_CASE("help lists the flags, a bad flag fails with status 2", "[server]") {
    ChildProcess help({SWITCHBOARD_SERVER_EXE, "--help"});
    auto text = help.read_all();
    CHECK(help.wait() == 0);
    for (auto flag : {"--host",
                      "--port",
                      "--threads",
                      "--web-root",
                      "--allowed-origin",
                      "--max-room-size",
                      "--max-message-bytes",
                      "--tls-cert",
                      "--tls-key",
                      "--log-level",
                      "--unknown-types",
                      "--redis",
                      "--node-lease",
                      "--node-name",
                      "--token-secret-file",
                      "--issue-token",
                      "--token-room",
                      "--token-ttl",
                      "--token-profile",
                      "--allow-client-names",
                      "--stun",
                      "--turn",
                      "--turn-secret-file",
                      "--turn-ttl",
                      "--turn-user",
                      "--turn-password-file",
                      "--resume-window",
                      "--admin-token-file"})
        CHECK(text.find(flag) != std::string::npos);

    ChildProcess bad({SWITCHBOARD_SERVER_EXE, "--port", "seventy"}, "/dev/null");
    CHECK(bad.wait() == 2);
    ChildProcess unknown({SWITCHBOARD_SERVER_EXE, "--frobnicate"}, "/dev/null");
    CHECK(unknown.wait() == 2);
}

TEST_CASE("prints one listening line, serves WebSockets, exits 0 on SIGTERM after closing with 1001", "[server]") {
    Server server;
    CHECK(server.scheme == "ws");
    WsClient a, b;
    REQUIRE(a.login(server.port));
    REQUIRE(b.login(server.port, "/room/x"));
    server.process.signal(SIGTERM);
    CHECK(a.wait_closed() == 1001);
    CHECK(b.wait_closed() == 1001);
    CHECK(server.process.wait(5s) == 0);
    CHECK_FALSE(server.process.read_line(1s));  // nothing else on stdout
}

TEST_CASE("SIGINT shuts down cleanly too", "[server]") {
    Server server;
    server.process.signal(SIGINT);
    CHECK(server.process.wait(5s) == 0);
}

TEST_CASE("on SIGTERM, clients that never answer the close frame hold the exit for --close-timeout at most",
          "[server]") {
    SECTION("the default: about a second") {
        Server server;
        RawClient silent;  // upgrades, then reads nothing and never answers the close frame
        REQUIRE(silent.upgrade_with(server.port, "/", ""));
        WsClient reader;
        REQUIRE(reader.login(server.port));  // the silent one joined before it
        server.process.signal(SIGTERM);
        CHECK(reader.wait_closed() == 1001);
        CHECK(server.process.wait(4s) == 0);  // 1 s, and some slack for a loaded machine
    }
    SECTION("the flag sets it") {
        Server server({"--close-timeout", "2.5"});
        RawClient silent;
        REQUIRE(silent.upgrade_with(server.port, "/", ""));
        WsClient reader;
        REQUIRE(reader.login(server.port));
        server.process.signal(SIGTERM);
        CHECK(reader.wait_closed() == 1001);
        CHECK_FALSE(server.process.wait(1s));  // it waits for the silent client's answer...
        CHECK(server.process.wait(5s) == 0);   // ...for 2.5 s at most
    }
}

TEST_CASE("/healthz and /metrics", "[server]") {
    Server server({"--max-message-bytes", "1000"});
    auto health = http_request(server.port, "GET", "/healthz");
    CHECK(health.status == 200);
    CHECK(health.body == "ok\n");

    WsClient a;
    REQUIRE(a.login(server.port));
    REQUIRE(a.send("not json"));
    REQUIRE(a.receive_type("error"));
    REQUIRE(a.send(std::string(2000, 'x')));  // over --max-message-bytes: the transport closes
    CHECK(a.wait_closed() == 1009);

    // The close is counted just after the client sees it.
    HttpResult metrics;
    for (int i = 0; i < 100; ++i) {
        metrics = http_request(server.port, "GET", "/metrics");
        if (metrics.body.find("reason=\"message-too-big\"") != std::string::npos) break;
        std::this_thread::sleep_for(20ms);
    }
    CHECK(metrics.status == 200);
    CHECK(metrics.content_type.rfind("text/plain; version=0.0.4", 0) == 0);
    const auto& body = metrics.body;
    CHECK(body.find("# TYPE switchboard_connections_open gauge\n") != std::string::npos);
    CHECK(body.find("# HELP switchboard_connections_total ") != std::string::npos);
    CHECK(body.find("switchboard_connections_total 1\n") != std::string::npos);
    CHECK(body.find("# TYPE switchboard_errors_total counter\n") != std::string::npos);
    CHECK(body.find("switchboard_errors_total{code=\"invalid-json\"} 1\n") != std::string::npos);
    CHECK(body.find("switchboard_transport_closes_total{reason=\"message-too-big\"} 1\n") != std::string::npos);
    CHECK(body.find("switchboard_messages_received_total 1\n") != std::string::npos);
}

TEST_CASE("the bundled chat page and client module, with content types", "[server]") {
    Server server;
    auto page = http_request(server.port, "GET", "/");
    CHECK(page.status == 200);
    CHECK(page.content_type == "text/html; charset=utf-8");
    CHECK(page.body.find("<html") != std::string::npos);
    auto client = http_request(server.port, "GET", "/switchboard.js");
    CHECK(client.status == 200);
    CHECK(client.content_type == "text/javascript; charset=utf-8");
    CHECK(http_request(server.port, "GET", "/style.css").content_type == "text/css; charset=utf-8");

    auto head = http_request(server.port, "HEAD", "/");
    CHECK(head.status == 200);
    CHECK(head.content_length == std::to_string(page.body.size()));
    CHECK(head.body.empty());

    auto post = http_request(server.port, "POST", "/");
    CHECK(post.status == 405);
    CHECK(http_request(server.port, "GET", "/no-such-file.html").status == 404);
}

TEST_CASE("static files: content types and no way out of the web root", "[server]") {
    auto root = temp_dir("web");
    auto outside = temp_dir("outside");
    write_file(outside / "secret.txt", "TOP-SECRET");
    write_file(root / "index.html", "<!doctype html><html></html>");
    fs::create_directories(root / "sub");
    write_file(root / "sub" / "index.html", "<p>sub</p>");
    const std::pair<const char*, const char*> files[] = {
        {"app.js", "text/javascript; charset=utf-8"},
        {"a.css", "text/css; charset=utf-8"},
        {"a.png", "image/png"},
        {"a.svg", "image/svg+xml"},
        {"a.json", "application/json"},
        {"favicon.ico", "image/x-icon"},
        {"a.txt", "text/plain; charset=utf-8"},
    };
    for (auto& [name, type] : files)
        write_file(root / name, "x");
    fs::create_symlink(outside / "secret.txt", root / "leak.txt");
    fs::create_directory_symlink(outside, root / "leakdir");
    fs::create_symlink(root / "a.txt", root / "inside.txt");  // symlinks within the root are fine

    Server server({"--web-root", root.string()});
    for (auto& [name, type] : files) {
        auto r = http_request(server.port, "GET", std::string("/") + name);
        CHECK(r.status == 200);
        CHECK(r.content_type == type);
    }
    CHECK(http_request(server.port, "GET", "/sub/").body == "<p>sub</p>");
    CHECK(http_request(server.port, "GET", "/sub").body == "<p>sub</p>");
    CHECK(http_request(server.port, "GET", "/inside.txt").status == 200);
    CHECK(http_request(server.port, "GET", "/a.txt?v=2").status == 200);
    // The bundled client is still served when the root has none.
    CHECK(http_request(server.port, "GET", "/switchboard.js").status == 200);

    const char* attacks[] = {
        "/../outside/secret.txt",
        "/sub/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/..%2f..%2fetc%2fpasswd",
        "/sub/%2e%2e/%2e%2e/etc/passwd",
        "/..%5c..%5cetc%5cpasswd",
        "/leak.txt",
        "/leakdir/secret.txt",
        "/%00index.html",
        "/%zz",
    };
    for (auto target : attacks) {
        auto r = http_request(server.port, "GET", target);
        INFO(target << " -> " << r.status);
        CHECK((r.status == 404 || r.status == 403 || r.status == 400));
        CHECK(r.body.find("TOP-SECRET") == std::string::npos);
        CHECK(r.body.find("root:") == std::string::npos);
    }
    fs::remove_all(root);
    fs::remove_all(outside);
}

TEST_CASE("the --allowed-origin flag refuses other origins with 403", "[server]") {
    Server server({"--allowed-origin", "http://good.example", "--allowed-origin=http://also.example"});
    WsClient bad;
    CHECK(bad.connect(server.port, "/", {{"Origin", "http://evil.example"}}) == 403);
    CHECK(bad.refusal_body().find("evil.example") != std::string::npos);
    WsClient good, also;
    CHECK(good.connect(server.port, "/", {{"Origin", "http://good.example"}}) == 101);
    CHECK(also.connect(server.port, "/", {{"Origin", "http://also.example"}}) == 101);
    WsClient wrong_path;
    CHECK(wrong_path.connect(server.port, "/rooms/x") == 404);
}

TEST_CASE("the --unknown-types route and --max-room-size flags", "[server]") {
    Server server({"--unknown-types", "route", "--max-room-size", "2"});
    WsClient a, b, c;
    REQUIRE(a.login(server.port));
    REQUIRE(b.login(server.port));
    REQUIRE(a.send(nlohmann::json({{"type", "file-offer"}, {"to", b.id()}, {"name", "x"}}).dump()));
    auto got = b.receive_type("file-offer");
    REQUIRE(got);
    CHECK((*got)["from"] == a.id());
    REQUIRE(c.connect(server.port) == 101);
    auto full = c.receive();
    REQUIRE(full);
    CHECK((*full)["code"] == "room-full");
    CHECK(c.wait_closed() == 1013);
}

TEST_CASE("TLS flags --tls-cert and --tls-key serve wss", "[server][tls]") {
    auto files = make_self_signed_cert();
    REQUIRE(files);
    Server server({"--tls-cert", files->cert, "--tls-key", files->key});
    CHECK(server.scheme == "wss");
    WsClient a;
    REQUIRE(a.connect_tls(server.port, files->cert) == 101);
    auto login = a.receive();
    REQUIRE(login);
    CHECK((*login)["type"] == "login");
    server.process.signal(SIGTERM);
    CHECK(a.wait_closed() == 1001);
    CHECK(server.process.wait(5s) == 0);

    ChildProcess missing({SWITCHBOARD_SERVER_EXE, "--port", "0", "--tls-cert", files->cert}, "/dev/null");
    CHECK(missing.wait() == 1);
}

TEST_CASE("per-address limits: rooms and connections of one address, handshakes in flight", "[server][limits]") {
    Server server(
        {"--max-rooms-per-address", "2", "--max-connections-per-address", "3", "--max-handshakes-per-address", "2"});
    std::vector<std::unique_ptr<WsClient>> mine;
    for (const char* room : {"/room/a", "/room/b"}) {
        mine.push_back(std::make_unique<WsClient>());
        REQUIRE(mine.back()->login(server.port, room));
    }
    WsClient third_room;
    REQUIRE(third_room.connect(server.port, "/room/c") == 101);
    auto refused = third_room.receive();
    REQUIRE(refused);
    CHECK((*refused)["code"] == "too-many-rooms");
    CHECK(third_room.wait_closed() == 1013);
    // Another address opens rooms as it likes.
    WsClient elsewhere;
    elsewhere.bind_to("127.0.0.2");
    REQUIRE(elsewhere.login(server.port, "/room/c"));
    // A third connection of 127.0.0.1 fits, a fourth does not.
    mine.push_back(std::make_unique<WsClient>());
    REQUIRE(mine.back()->login(server.port, "/room/a"));
    WsClient fourth;
    REQUIRE(fourth.connect(server.port, "/room/a") == 101);
    auto too_many = fourth.receive();
    REQUIRE(too_many);
    CHECK((*too_many)["code"] == "too-many-connections");

    // Handshakes in flight: two idle TCP connections from 127.0.0.3 hold its share; a third is closed at once.
    std::vector<std::unique_ptr<RawClient>> idle;
    for (int i = 0; i < 2; ++i) {
        idle.push_back(std::make_unique<RawClient>());
        REQUIRE(idle.back()->connect_from("127.0.0.3", server.port));
    }
    RawClient third;
    REQUIRE(third.connect_from("127.0.0.3", server.port));
    CHECK(third.wait_hangup());
    WsClient other;
    other.bind_to("127.0.0.4");
    CHECK(other.login(server.port));

    auto metrics = http_request(server.port, "GET", "/metrics");
    CHECK(metrics.body.find(R"(switchboard_errors_total{code="too-many-rooms"} 1)") != std::string::npos);
    CHECK(metrics.body.find(R"(switchboard_errors_total{code="too-many-connections"} 1)") != std::string::npos);
    CHECK(metrics.body.find(R"(switchboard_transport_closes_total{reason="too-many-handshakes"} 1)") !=
          std::string::npos);
}

TEST_CASE("trusted proxy flag: the client address comes from X-Forwarded-For only from that proxy",
          "[server][limits]") {
    Server server({"--max-connections-per-address", "1", "--trusted-proxy", "127.0.0.1"});
    // Through the proxy (127.0.0.1): two different clients.
    WsClient a, b;
    REQUIRE(a.connect(server.port, "/", {{"X-Forwarded-For", "203.0.113.1"}}) == 101);
    REQUIRE(b.connect(server.port, "/", {{"X-Forwarded-For", "203.0.113.2"}}) == 101);
    CHECK((*a.receive())["type"] == "login");
    CHECK((*b.receive())["type"] == "login");
    // Not through the proxy: the header is ignored, the peer's own address counts.
    WsClient c, d;
    c.bind_to("127.0.0.2");
    d.bind_to("127.0.0.2");
    REQUIRE(c.connect(server.port, "/", {{"X-Forwarded-For", "203.0.113.3"}}) == 101);
    CHECK((*c.receive())["type"] == "login");  // c is in before d connects: the 101 comes before the join
    REQUIRE(d.connect(server.port, "/", {{"X-Forwarded-For", "203.0.113.4"}}) == 101);
    CHECK((*d.receive())["code"] == "too-many-connections");
}

TEST_CASE("static files are streamed: clients that never read do not hold the file in memory", "[server][limits]") {
    auto root = temp_dir("big");
    const std::size_t size = 15 * 1024 * 1024;
    std::string content(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        content[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
    write_file(root / "big.bin", content);
    const auto file = fs::canonical(root / "big.bin");
    Server server({"--web-root", root.string()});
    const pid_t pid = server.process.pid();
    const long before = resident_kib(pid);

    // Twenty clients ask for the file and never read the answer.
    const int clients = 20;
    std::vector<std::unique_ptr<RawClient>> stalled;
    for (int i = 0; i < clients; ++i) {
        stalled.push_back(std::make_unique<RawClient>());
        REQUIRE(stalled.back()->connect_from("127.0.2." + std::to_string(i + 1), server.port));
        REQUIRE(stalled.back()->write("GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    }
    // Each answer in progress holds the file open; wait (bounded) until all twenty are.
    for (int i = 0; i < 100 && descriptors_on(pid, file) < clients; ++i)
        std::this_thread::sleep_for(50ms);
    CHECK(descriptors_on(pid, file) == clients);
    std::this_thread::sleep_for(200ms);  // the writes run until the sockets' buffers are full
    const long grown = resident_kib(pid) - before;
    INFO("the server grew by " << grown << " KiB while 20 clients held a 15 MiB answer unread");
    CHECK(before > 0);
    CHECK(grown < 32 * 1024);  // holding the file per client would be 300 MiB

    // Meanwhile others are served, and a client that reads gets every byte.
    CHECK(http_request(server.port, "GET", "/healthz").status == 200);
    auto whole = http_request(server.port, "GET", "/big.bin", {}, 20s);
    CHECK(whole.status == 200);
    CHECK(whole.content_length == std::to_string(size));
    CHECK((whole.body == content));
    auto head = http_request(server.port, "HEAD", "/big.bin");
    CHECK(head.content_length == std::to_string(size));
    CHECK(head.body.empty());
    stalled.clear();
    fs::remove_all(root);
}

TEST_CASE("access tokens: --token-secret-file requires one, --issue-token mints one", "[server][tokens]") {
    auto dir = temp_dir("tokens");
    write_file(dir / "secret", "correct horse battery staple\n");
    write_file(dir / "other", "another secret\n");
    auto issue = [&](const std::string& secret_file, const std::string& room) {
        ChildProcess p({SWITCHBOARD_SERVER_EXE, "--token-secret-file", (dir / secret_file).string(), "--issue-token",
                        "alice", "--token-room", room, "--token-ttl", "600"});
        auto line = p.read_line();
        CHECK(p.wait() == 0);
        return line.value_or("");
    };
    const auto token = issue("secret", "lobby");
    REQUIRE(std::count(token.begin(), token.end(), '.') == 2);

    Server server({"--token-secret-file", (dir / "secret").string()});
    WsClient none;
    CHECK(none.connect(server.port, "/room/lobby") == 401);
    CHECK(none.refusal_body().find("token is required") != std::string::npos);
    WsClient good;
    REQUIRE(good.connect(server.port, "/room/lobby?token=" + token) == 101);
    CHECK((*good.receive())["type"] == "login");
    WsClient elsewhere;
    CHECK(elsewhere.connect(server.port, "/room/kitchen?token=" + token) == 403);
    CHECK(elsewhere.refusal_body().find("grants room 'lobby'") != std::string::npos);
    WsClient forged;
    CHECK(forged.connect(server.port, "/room/lobby?token=" + issue("other", "lobby")) == 401);
    CHECK(forged.refusal_body().find("signature") != std::string::npos);
    // Others are not affected by the refusals.
    WsClient second;
    REQUIRE(second.connect(server.port, "/room/lobby?token=" + issue("secret", "*")) == 101);
    CHECK((*second.receive())["type"] == "login");

    ChildProcess no_secret({SWITCHBOARD_SERVER_EXE, "--issue-token", "alice"});
    CHECK(no_secret.wait() == 2);
    fs::remove_all(dir);
}

TEST_CASE("profiles: --token-profile, --allow-client-names, a bad name is refused with 400", "[server][profiles]") {
    auto dir = temp_dir("profiles");
    write_file(dir / "secret", "correct horse battery staple\n");
    ChildProcess mint({SWITCHBOARD_SERVER_EXE, "--token-secret-file", (dir / "secret").string(), "--issue-token", "ann",
                       "--token-profile", R"({"name":"Ann","role":"host"})"});
    const auto token = mint.read_line().value_or("");
    CHECK(mint.wait() == 0);

    Server server({"--token-secret-file", (dir / "secret").string(), "--allow-client-names"});
    WsClient ann;
    REQUIRE(ann.connect(server.port, "/?name=Impostor&token=" + token) == 101);
    auto login = *ann.receive();
    CHECK(login["profile"] == json({{"name", "Ann"}, {"role", "host"}}));
    // The token's name wins, so a bad name beside it does not matter.
    WsClient ignored;
    CHECK(ignored.connect(server.port, "/?name=%E2%80%AEevil&token=" + token) == 101);

    Server open_server({"--allow-client-names"});
    WsClient bad;
    CHECK(bad.connect(open_server.port, "/?name=%E2%80%AEevil") == 400);
    CHECK(bad.refusal_body().find("U+202E") != std::string::npos);
    WsClient bo, cy;
    REQUIRE(bo.connect(open_server.port, "/room/r?name=+Bo+") == 101);
    auto bo_login = *bo.receive();
    CHECK(bo_login["profile"] == json({{"name", "Bo"}}));
    REQUIRE(cy.connect(open_server.port, "/room/r?name=Cy%20Young") == 101);
    auto cy_login = *cy.receive();
    CHECK(cy_login["profiles"] == json({{std::to_string(bo_login["userId"].get<std::uint64_t>()), {{"name", "Bo"}}}}));
    auto joined = *bo.receive();
    CHECK(joined ==
          json({{"type", "user-joined"}, {"userId", cy_login["userId"]}, {"profile", {{"name", "Cy Young"}}}}));

    ChildProcess stray({SWITCHBOARD_SERVER_EXE, "--token-profile", "{}"}, "/dev/null");
    CHECK(stray.wait() == 2);
    ChildProcess not_object({SWITCHBOARD_SERVER_EXE, "--token-secret-file", (dir / "secret").string(), "--issue-token",
                             "ann", "--token-profile", "[1]"},
                            "/dev/null");
    CHECK(not_object.wait() == 2);
    fs::remove_all(dir);
}

TEST_CASE("ICE servers: --stun and --turn reach login, REST credentials are fresh per user", "[server][turn]") {
    auto dir = temp_dir("turn");
    write_file(dir / "turn-secret", "north\n");
    write_file(dir / "turn-password", "hunter2\n");
    {
        Server server({"--stun", "stun:127.0.0.1:3478", "--turn", "turn:127.0.0.1:3478?transport=udp", "--turn",
                       "turn:127.0.0.1:3478?transport=tcp", "--turn-secret-file", (dir / "turn-secret").string(),
                       "--turn-ttl", "600"});
        WsClient a;
        REQUIRE(a.connect(server.port, "/") == 101);
        auto login = *a.receive();
        auto ice = login["iceServers"];
        REQUIRE(ice.size() == 2);
        CHECK(ice[0] == json({{"urls", {"stun:127.0.0.1:3478"}}}));
        CHECK(ice[1]["urls"] == json({"turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"}));
        std::string user = ice[1]["username"];
        auto colon = user.find(':');
        REQUIRE(colon != std::string::npos);
        CHECK(user.substr(colon + 1) == std::to_string(login["userId"].get<std::uint64_t>()));
        auto now =
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
        auto expiry = std::stoll(user.substr(0, colon));
        CHECK(expiry > now.count() + 590);
        CHECK(expiry <= now.count() + 601);
        CHECK(ice[1]["credential"].get<std::string>().size() == 28);  // base64 of 20 bytes
    }
    {
        Server server({"--turn", "turns:127.0.0.1:5349", "--turn-user", "fixed", "--turn-password-file",
                       (dir / "turn-password").string()});
        WsClient a;
        REQUIRE(a.connect(server.port, "/") == 101);
        CHECK((*a.receive())["iceServers"] ==
              json::parse(R"([{"urls":["turns:127.0.0.1:5349"],"username":"fixed","credential":"hunter2"}])"));
    }
    {
        Server server;
        WsClient a;
        REQUIRE(a.connect(server.port, "/") == 101);
        CHECK_FALSE((*a.receive()).contains("iceServers"));
    }
    for (std::vector<std::string> bad : {std::vector<std::string>{"--turn", "turn:127.0.0.1:3478"},
                                         {"--stun", "http://127.0.0.1"},
                                         {"--turn-secret-file", (dir / "turn-secret").string()},
                                         {"--turn", "turn:x", "--turn-user", "u"},
                                         {"--turn", "turn:x", "--turn-secret-file", (dir / "missing").string()},
                                         {"--turn", "turn:x", "--turn-secret-file", (dir / "turn-secret").string(),
                                          "--turn-user", "u", "--turn-password-file", (dir / "turn-password").string()},
                                         {"--turn-ttl", "5"}}) {
        std::vector<std::string> args{SWITCHBOARD_SERVER_EXE};
        args.insert(args.end(), bad.begin(), bad.end());
        ChildProcess p(args, "/dev/null");
        INFO(bad[0]);
        CHECK(p.wait() == 2);
    }
    fs::remove_all(dir);
}

TEST_CASE("admin API: --admin-token-file lists rooms and users, sends, broadcasts, disconnects", "[server][admin]") {
    auto dir = temp_dir("admin");
    write_file(dir / "admin-token", "let-me-in\n");
    Server server({"--admin-token-file", (dir / "admin-token").string(), "--allow-client-names"});
    auto admin = [&](std::string_view method, std::string_view target, std::string_view body = {},
                     const Headers& headers = {{"Authorization", "Bearer let-me-in"}}) {
        auto r = http_request(server.port, method, target, headers, std::chrono::seconds(5), body);
        INFO(method << " " << target << " -> " << r.status << " " << r.body);
        CHECK(r.content_type == "application/json");
        return std::make_pair(r.status, json::parse(r.body, nullptr, false));
    };

    // Each waits for its login before the next connects: the 101 reaches a
    // client before the server has put it in the room.
    WsClient ann, bo, cy;
    REQUIRE(ann.connect(server.port, "/room/lobby?name=Ann") == 101);
    auto ann_id = (*ann.receive())["userId"].get<std::uint64_t>();
    REQUIRE(bo.connect(server.port, "/room/lobby?name=Bo") == 101);
    auto bo_id = (*bo.receive())["userId"].get<std::uint64_t>();
    REQUIRE(cy.connect(server.port, "/?name=Cy") == 101);
    cy.receive();
    REQUIRE(ann.receive_type("user-joined"));

    CHECK(admin("GET", "/admin/rooms") == std::make_pair(200, json{{"rooms", {"", "lobby"}}}));
    CHECK(admin("GET", "/admin/users?room=lobby") ==
          std::make_pair(200, json{{"room", "lobby"},
                                   {"users",
                                    {{{"userId", ann_id}, {"profile", {{"name", "Ann"}}}},
                                     {{"userId", bo_id}, {"profile", {{"name", "Bo"}}}}}}}));
    CHECK(admin("GET", "/admin/users").second["users"].size() == 1);

    auto [sent, sent_body] = admin(
        "POST", "/admin/send", R"({"to":)" + std::to_string(bo_id) + R"(,"message":{"type":"notice","text":"hi Bo"}})");
    CHECK(sent == 200);
    CHECK(*bo.receive() == json({{"type", "notice"}, {"text", "hi Bo"}}));
    CHECK(admin("POST", "/admin/send", R"({"to":424242,"message":{"type":"notice"}})").first == 404);
    CHECK(admin("POST", "/admin/broadcast", R"({"room":"lobby","message":{"type":"notice","text":"all"}})") ==
          std::make_pair(200, json{{"sent", 2}}));
    CHECK((*ann.receive())["text"] == "all");
    CHECK((*bo.receive())["text"] == "all");

    // Bad requests are refused with a reason, and nothing reaches anyone.
    for (auto [target, body] : std::vector<std::pair<std::string, std::string>>{
             {"/admin/send", "not json"},
             {"/admin/send", R"({"to":"two","message":{"type":"x"}})"},
             {"/admin/send", R"({"to":1})"},
             {"/admin/send", R"({"to":1,"message":{"type":"login","userId":1,"users":[]}})"},
             {"/admin/broadcast", R"({"room":"no/such","message":{"type":"x"}})"},
             {"/admin/disconnect", R"({"userId":1,"code":1006})"}}) {
        auto [status, reply] = admin("POST", target, body);
        CHECK(status == 400);
        CHECK(reply["error"]["code"] == "invalid-request");
    }
    CHECK(admin("GET", "/admin/users?room=%2F").first == 400);
    CHECK(admin("GET", "/admin/send").first == 405);
    CHECK(admin("POST", "/admin/rooms").first == 405);
    CHECK(admin("GET", "/admin/nothing").first == 404);
    CHECK(admin("GET", "/admin/rooms", {}, {}).first == 401);
    CHECK(admin("GET", "/admin/rooms", {}, {{"Authorization", "Bearer let-me-i"}}).first == 401);
    CHECK(admin("GET", "/admin/rooms", {}, {{"Authorization", "let-me-in"}}).first == 401);

    CHECK(admin("POST", "/admin/disconnect", R"({"userId":)" + std::to_string(bo_id) + R"(,"reason":"be nice"})") ==
          std::make_pair(200, json{{"disconnected", true}}));
    CHECK(bo.wait_closed() == 4000);
    // The next thing Ann hears: none of the refused requests reached her.
    auto left = ann.receive();
    REQUIRE(left);
    CHECK(*left == json({{"type", "user-left"}, {"userId", bo_id}}));
    CHECK(admin("POST", "/admin/disconnect", R"({"userId":)" + std::to_string(bo_id) + "}").first == 404);
    // The static files are still served beside it.
    CHECK(http_request(server.port, "GET", "/").status == 200);
    fs::remove_all(dir);
}

TEST_CASE("admin API is off without --admin-token-file", "[server][admin]") {
    Server server;
    CHECK(http_request(server.port, "GET", "/admin/rooms", {{"Authorization", "Bearer x"}}).status == 404);
    CHECK(http_request(server.port, "POST", "/admin/disconnect", {{"Authorization", "Bearer x"}}).status == 405);
}

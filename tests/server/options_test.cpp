// switchboard-server's options from their three sources (the command line,
// SWITCHBOARD_* environment variables, a --config file), which one wins, how
// a bad one is reported, and --help.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include "catch.hpp"
#include "support/client.hpp"
#include "support/process.hpp"

using namespace switchboard::test;
namespace fs = std::filesystem;

using json = nlohmann::json;

namespace {

/** Sets an environment variable while it lives, for the servers started meanwhile (they inherit it). */
class ScopedEnv {
public:
    ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
        if (const char* old = std::getenv(name_.c_str())) old_ = old;
        ::setenv(name_.c_str(), value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (old_)
            ::setenv(name_.c_str(), old_->c_str(), 1);
        else
            ::unsetenv(name_.c_str());
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    std::string name_;
    std::optional<std::string> old_;
};

/** A fresh directory under the system's temporary one, removed with this. */
struct TempDir {
    explicit TempDir(const std::string& name) {
        std::random_device random;
        path = fs::temp_directory_path() / ("switchboard-" + name + "-" + std::to_string(random()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    /** Writes `text` to the file `name` in it; returns its path. */
    std::string file(const std::string& name, const std::string& text) const {
        std::ofstream(path / name, std::ios::binary) << text;
        return (path / name).string();
    }
    fs::path path;
};

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/** switchboard-server with `flags`, on 127.0.0.1: its port once it printed its listening line. */
struct Server {
    explicit Server(std::vector<std::string> flags) : process(with_exe(std::move(flags)), SWITCHBOARD_TEST_STDERR) {
        REQUIRE(process.started());
        auto line = process.read_line();
        REQUIRE(line);
        std::smatch m;
        static const std::regex listening(R"(listening on ws://127\.0\.0\.1:([0-9]+)/)");
        REQUIRE(std::regex_match(*line, m, listening));
        port = static_cast<std::uint16_t>(std::stoi(m[1]));
    }

    static std::vector<std::string> with_exe(std::vector<std::string> flags) {
        flags.insert(flags.begin(), SWITCHBOARD_SERVER_EXE);
        return flags;
    }

    ChildProcess process;
    std::uint16_t port = 0;
};

/** How many users one room of the server takes: joins one until a join is refused (at most `most`). */
std::size_t room_size(std::uint16_t port, std::size_t most = 8) {
    std::vector<std::unique_ptr<WsClient>> users;
    while (users.size() < most) {
        auto user = std::make_unique<WsClient>();
        if (user->connect(port, "/room/size") != 101) break;
        auto first = user->receive();
        if (!first || (*first)["type"] != "login") break;
        users.push_back(std::move(user));
    }
    return users.size();
}

/** The room size of a server started with `flags` (and whatever the environment says). */
std::size_t room_size_with(std::vector<std::string> flags) {
    flags.insert(flags.end(), {"--port", "0", "--threads", "2"});
    Server server(flags);
    return room_size(server.port);
}

/** What the server prints for --help, and its exit status. */
std::pair<std::string, std::optional<int>> help() {
    ChildProcess process({SWITCHBOARD_SERVER_EXE, "--help"});
    auto text = process.read_all();
    return {text, process.wait()};
}

}  // namespace

TEST_CASE("a --config FILE sets options, a repeatable one as a list", "[server][options]") {
    TempDir dir("config");
    auto config = dir.file("server.toml",
                           "# switchboard-server\n"
                           "port = 0\n"
                           "threads = 2\n"
                           "max-room-size = 2\n"
                           "allowed-origin = [\"http://good.example\", \"http://also.example\"]\n"
                           "allow-client-names = true\n"
                           "log-level = \"debug\"  # strings may be quoted\n");
    Server server({"--config", config});
    CHECK(room_size(server.port) == 2);

    WsClient evil, good, also;
    CHECK(evil.connect(server.port, "/", {{"Origin", "http://evil.example"}}) == 403);
    CHECK(good.connect(server.port, "/", {{"Origin", "http://good.example"}}) == 101);
    CHECK(also.connect(server.port, "/", {{"Origin", "http://also.example"}}) == 101);
    WsClient ann;
    auto login = ann.login(server.port, "/room/names?name=Ann");
    REQUIRE(login);
    CHECK((*login)["profile"] == json({{"name", "Ann"}}));
}

TEST_CASE("SWITCHBOARD_<NAME> environment variables set options, a repeatable one as [a,b]", "[server][options]") {
    TempDir dir("environment");
    ScopedEnv port("SWITCHBOARD_PORT", "0");
    ScopedEnv size("SWITCHBOARD_MAX_ROOM_SIZE", "3");
    ScopedEnv origins("SWITCHBOARD_ALLOWED_ORIGIN", "[http://good.example,http://also.example]");
    ScopedEnv admin("SWITCHBOARD_ADMIN_TOKEN_FILE", dir.file("admin-token", "let-me-in\n"));
    // No --port: the environment's 0 picks a free port instead of 8080.
    Server server({"--threads", "2"});
    CHECK(server.port != 8080);
    CHECK(room_size(server.port) == 3);

    WsClient evil, good, also;
    CHECK(evil.connect(server.port, "/", {{"Origin", "http://evil.example"}}) == 403);
    CHECK(good.connect(server.port, "/", {{"Origin", "http://good.example"}}) == 101);
    CHECK(also.connect(server.port, "/", {{"Origin", "http://also.example"}}) == 101);
    CHECK(http_request(server.port, "GET", "/admin/rooms", {{"Authorization", "Bearer let-me-in"}}).status == 200);
}

TEST_CASE("the command line wins over the environment, the environment over the --config file", "[server][options]") {
    TempDir dir("precedence");
    auto config = dir.file("server.toml", "max-room-size = 2\n");
    CHECK(room_size_with({"--config", config}) == 2);
    CHECK(room_size_with({"--config", config, "--max-room-size", "4"}) == 4);
    CHECK(room_size_with({"--max-room-size=4", "--config=" + config}) == 4);
    {
        ScopedEnv size("SWITCHBOARD_MAX_ROOM_SIZE", "3");
        CHECK(room_size_with({}) == 3);
        CHECK(room_size_with({"--config", config}) == 3);
        CHECK(room_size_with({"--config", config, "--max-room-size", "4"}) == 4);
    }
    {
        // An empty variable counts as unset.
        ScopedEnv size("SWITCHBOARD_MAX_ROOM_SIZE", "");
        CHECK(room_size_with({"--config", config}) == 2);
    }
    {
        ScopedEnv file("SWITCHBOARD_CONFIG", config);
        CHECK(room_size_with({}) == 2);
        CHECK(room_size_with({"--config", dir.file("other.toml", "max-room-size = 5\n")}) == 5);
    }
}

TEST_CASE("a bad or unknown option, wherever it comes from, exits with status 2 and one line naming it",
          "[server][options]") {
    TempDir dir("bad-options");
    struct Case {
        std::string source;
        std::vector<std::string> args;
        std::vector<std::pair<std::string, std::string>> environment;
        std::string names;
    };
    const std::vector<Case> cases = {
        {"unknown flag", {"--frobnicate"}, {}, "--frobnicate"},
        {"stray argument", {"frobnicate"}, {}, "frobnicate"},
        {"bad number", {"--max-room-size", "many"}, {}, "--max-room-size"},
        {"number out of range", {"--max-room-size", "0"}, {}, "--max-room-size"},
        {"missing value", {"--max-room-size"}, {}, "--max-room-size"},
        {"too many decimals", {"--resume-window", "1.2345"}, {}, "--resume-window"},
        {"bad choice", {"--unknown-types", "maybe"}, {}, "--unknown-types"},
        {"needs another", {"--node-name", "n1"}, {}, "--node-name"},
        {"bad environment value", {}, {{"SWITCHBOARD_MAX_ROOM_SIZE", "many"}}, "--max-room-size"},
        {"bad file value", {"--config", dir.file("bad.toml", "max-room-size = 0\n")}, {}, "--max-room-size"},
        {"unknown file key", {"--config", dir.file("unknown.toml", "frobnicate = 1\n")}, {}, "frobnicate"},
        {"file section", {"--config", dir.file("section.toml", "[server]\nport = 1\n")}, {}, "[server]"},
        {"missing file", {"--config", (dir.path / "missing.toml").string()}, {}, "--config"},
        {"missing file from the environment",
         {},
         {{"SWITCHBOARD_CONFIG", (dir.path / "missing.toml").string()}},
         "SWITCHBOARD_CONFIG"},
    };
    for (const auto& c : cases) {
        INFO(c.source);
        std::vector<std::unique_ptr<ScopedEnv>> environment;
        for (const auto& [name, value] : c.environment)
            environment.push_back(std::make_unique<ScopedEnv>(name, value));
        // With --port 0, an option wrongly accepted gives a running server (and a timeout), not a busy port.
        std::vector<std::string> args{SWITCHBOARD_SERVER_EXE, "--port", "0"};
        args.insert(args.end(), c.args.begin(), c.args.end());
        auto stderr_file = dir.path / "stderr.log";
        ChildProcess p(args, stderr_file.string());
        CHECK(p.wait() == 2);
        auto error = read_file(stderr_file);
        INFO("stderr: " << error);
        CHECK(error.rfind("switchboard-server: ", 0) == 0);
        CHECK(error.find(c.names) != std::string::npos);
        CHECK(std::count(error.begin(), error.end(), '\n') == 1);
    }
}

TEST_CASE("help lists every option, the environment variables and the precedence", "[server][options]") {
    auto [text, status] = help();
    CHECK(status == 0);
    const std::set<std::string> expected = {"--help",
                                            "--config",
                                            "--host",
                                            "--port",
                                            "--threads",
                                            "--web-root",
                                            "--tls-cert",
                                            "--tls-key",
                                            "--allowed-origin",
                                            "--trusted-proxy",
                                            "--token-secret-file",
                                            "--allow-client-names",
                                            "--admin-token-file",
                                            "--host-peer",
                                            "--max-room-size",
                                            "--max-rooms",
                                            "--rate-limit",
                                            "--rate-burst",
                                            "--max-message-bytes",
                                            "--max-connections-per-address",
                                            "--max-rooms-per-address",
                                            "--max-http-connections",
                                            "--max-handshakes-per-address",
                                            "--idle-timeout",
                                            "--close-timeout",
                                            "--resume-window",
                                            "--redis",
                                            "--node-lease",
                                            "--node-name",
                                            "--stun",
                                            "--turn",
                                            "--turn-secret-file",
                                            "--turn-ttl",
                                            "--turn-user",
                                            "--turn-password-file",
                                            "--issue-token",
                                            "--token-room",
                                            "--token-ttl",
                                            "--token-profile",
                                            "--log-level",
                                            "--unknown-types"};
    // Each option opens a line of its own: "  --port N=8080   port; ...".
    std::set<std::string> listed;
    static const std::regex option_line(R"(^  (?:-h,)?(--[a-z-]+))");
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        std::smatch m;
        if (std::regex_search(line, m, option_line)) listed.insert(m[1]);
    }
    CHECK(listed == expected);
    // Defaults, and what 0 means.
    CHECK(text.find("--port N=8080") != std::string::npos);
    CHECK(text.find("0 picks a free one") != std::string::npos);
    CHECK(text.find("--max-room-size N=256") != std::string::npos);
    CHECK(text.find("--resume-window SECONDS=15") != std::string::npos);
    CHECK(text.find("0: no limit") != std::string::npos);
    // The footer is wrapped: compare it with its line breaks as spaces.
    auto prose = std::regex_replace(text, std::regex(R"(\s+)"), " ");
    CHECK(prose.find("SWITCHBOARD_<NAME>") != std::string::npos);
    CHECK(prose.find("The command line wins over the environment, the environment over the file") != std::string::npos);
    std::istringstream width(text);
    for (std::string line; std::getline(width, line);) {
        INFO(line);
        CHECK(line.size() <= 80);
    }
}

TEST_CASE("README's switchboard-server synopsis is what --help prints", "[server][options]") {
    auto [text, status] = help();
    REQUIRE(status == 0);
    auto readme = read_file(SWITCHBOARD_README);
    auto section = readme.find("\n## switchboard-server\n");
    REQUIRE(section != std::string::npos);
    const std::string open = "```text\n";
    auto start = readme.find(open, section);
    REQUIRE(start != std::string::npos);
    start += open.size();
    auto end = readme.find("```\n", start);
    REQUIRE(end != std::string::npos);
    INFO("regenerate the block in README.md with: switchboard-server --help");
    CHECK(readme.substr(start, end - start) == text);
}

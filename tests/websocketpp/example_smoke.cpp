// Smoke test of examples/websocketpp_embed as a separate process, driven the
// way external checks drive switchboard-server: start it with --port 0, read
// "listening on ws://HOST:PORT/", connect, then SIGTERM and expect close 1001
// and exit status 0. Usage: switchboard_websocketpp_example_smoke <example binary>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <regex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "client.hpp"  // the conformance kit's WebSocket client

namespace {

using namespace std::chrono_literals;
namespace kit = switchboard::testing::detail;

pid_t child = -1;

[[noreturn]] void die(const std::string& why) {
    std::cerr << "FAIL: " << why << '\n';
    if (child > 0) kill(child, SIGKILL);
    std::exit(1);
}

/** One line from `fd` within `timeout`. */
std::string read_line(int fd, std::chrono::milliseconds timeout) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0)
            die("no complete line on stdout within the timeout; got \"" + line + "\"");
        char c;
        if (read(fd, &c, 1) != 1) die("stdout closed before a complete line; got \"" + line + "\"");
        if (c == '\n') return line;
        line += c;
    }
}

nlohmann::json next_message(kit::Client& client, const char* who) {
    auto event = client.next(5s);
    if (!event) die(std::string(who) + ": no message within 5 s");
    if (event->kind != kit::Event::Kind::text) die(std::string(who) + ": expected a text message");
    return nlohmann::json::parse(event->data);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: " << argv[0] << " <switchboard-websocketpp-embed>\n";
        return 2;
    }
    alarm(60);  // whatever happens, never hang a CI job

    int out[2];
    if (pipe(out) != 0) die("pipe failed");
    child = fork();
    if (child == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(argv[1], argv[1], "--port", "0", static_cast<char*>(nullptr));
        _exit(127);
    }
    close(out[1]);

    auto line = read_line(out[0], 10s);
    std::smatch m;
    if (!std::regex_match(line, m, std::regex(R"(listening on ws://127\.0\.0\.1:(\d+)/)")))
        die("expected \"listening on ws://127.0.0.1:PORT/\", got \"" + line + "\"");
    auto port = static_cast<std::uint16_t>(std::stoi(m[1]));

    {
        kit::Loop loop;
        kit::Client alice(loop, port, {});
        kit::ConnectOptions lobby;
        lobby.target = "/room/lobby";
        kit::Client bob(loop, port, lobby);
        if (!alice.wait_upgrade(5s).accepted || !bob.wait_upgrade(5s).accepted) die("upgrade refused");
        auto a = next_message(alice, "alice");
        auto b = next_message(bob, "bob");
        if (a.value("type", "") != "login" || b.value("type", "") != "login") die("first messages must be login");
        if (a["userId"] == b["userId"]) die("two users got the same ID");

        kit::ConnectOptions bad;
        bad.target = "/not-a-room";
        kit::Client stray(loop, port, bad);
        if (auto up = stray.wait_upgrade(5s); up.status != 404) die("expected HTTP 404 for /not-a-room");

        kill(child, SIGTERM);
        for (auto* client : {&alice, &bob}) {
            auto event = client->next(5s);
            if (!event || event->kind != kit::Event::Kind::closed || event->close_code != 1001)
                die("after SIGTERM every client must see close 1001");
        }
    }

    for (int i = 0; i < 100; ++i) {
        int status = 0;
        if (waitpid(child, &status, WNOHANG) == child) {
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("the example did not exit with status 0");
            std::cout << "PASS: listening line, login, 404, close 1001 and exit 0 on SIGTERM\n";
            return 0;
        }
        std::this_thread::sleep_for(100ms);
    }
    die("the example did not exit within 10 s of SIGTERM");
}

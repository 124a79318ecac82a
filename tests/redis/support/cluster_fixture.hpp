// Test support for the cluster: switchboard-server nodes joined to a
// RedisServer, each a child process, and bounded polling.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "support/client.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace switchboard::test {

/** A switchboard-server joined to `redis`, lease 1 s unless `flags` say otherwise. */
class Node {
public:
    explicit Node(const RedisServer& redis, std::vector<std::string> flags = {}) {
        std::vector<std::string> args = {
            SWITCHBOARD_SERVER_EXE, "--port", "0", "--threads", "2", "--log-level", "debug", "--redis", redis.url(),
            "--node-lease",         "1"};
        args.insert(args.end(), flags.begin(), flags.end());
        process = std::make_unique<ChildProcess>(args, SWITCHBOARD_TEST_STDERR);
        REQUIRE(process->started());
        auto line = process->read_line(std::chrono::seconds(10));
        REQUIRE(line);
        // "listening on ws://127.0.0.1:PORT/" (no std::regex: GCC 12 warns inside it under ASan)
        const std::string prefix = "listening on ws://127.0.0.1:";
        INFO(*line);
        REQUIRE(line->rfind(prefix, 0) == 0);
        REQUIRE(line->back() == '/');
        port = static_cast<std::uint16_t>(std::stoi(line->substr(prefix.size())));
    }

    /** /healthz's status. */
    int health() const { return http_request(port, "GET", "/healthz").status; }

    /** A number from /metrics, -1 when absent. */
    long long metric(const std::string& name) const {
        auto body = http_request(port, "GET", "/metrics").body;
        auto at = body.find("\n" + name + " ");
        if (at == std::string::npos) return -1;
        return std::stoll(body.substr(at + name.size() + 2));
    }

    std::unique_ptr<ChildProcess> process;
    std::uint16_t port = 0;
};

/** Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held. */
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
}

}  // namespace switchboard::test

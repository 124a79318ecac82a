// Test support: a real redis-server on a free loopback port, started and
// killed by the test (no persistence: a restart loses everything, the worst
// case). Every wait is bounded.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "support/process.hpp"

namespace switchboard::test {

/** A TCP port on 127.0.0.1 that was free a moment ago. */
inline std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

/** One request in RESP over a fresh connection; the raw answer ("" on failure), within `timeout`. */
inline std::string redis_command(std::uint16_t port, const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout = std::chrono::milliseconds(1000)) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string answer;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
        std::string request = "*" + std::to_string(argv.size()) + "\r\n";
        for (auto& a : argv)
            request += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
        if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
                char buffer[4096];
                auto n = ::recv(fd, buffer, sizeof buffer, 0);
                if (n > 0) answer.assign(buffer, static_cast<std::size_t>(n));
            }
        }
    }
    ::close(fd);
    return answer;
}

class RedisServer {
public:
    RedisServer() : port_(free_port()) { start(); }

    void start() {
        process_ = std::make_unique<ChildProcess>(
            std::vector<std::string>{SWITCHBOARD_REDIS_SERVER_EXE, "--port", std::to_string(port_), "--bind",
                                     "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"},
            SWITCHBOARD_TEST_STDERR);
        REQUIRE(process_->started());
        for (int i = 0; i < 200 && redis_command(port_, {"PING"}) != "+PONG\r\n"; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        REQUIRE(redis_command(port_, {"PING"}) == "+PONG\r\n");
    }

    /** SIGKILL, as a crash would. */
    void kill() {
        process_->signal(SIGKILL);
        process_->wait();
        process_.reset();
    }

    /** SIGSTOP / SIGCONT: Redis unreachable (connections hang) without losing anything. */
    void signal(int sig) { process_->signal(sig); }

    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
    std::uint16_t port() const { return port_; }

private:
    std::uint16_t port_;
    std::unique_ptr<ChildProcess> process_;
};

}  // namespace switchboard::test

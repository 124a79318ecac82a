// Test support: a switchboard::beast::Server on 127.0.0.1, any free port,
// running on its own threads for the life of the fixture.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>

#include <switchboard/beast.hpp>
#include <switchboard/hub.hpp>

#include "catch.hpp"
#include "support/client.hpp"

namespace switchboard::test {

/** Short timeouts so that keep-alive and shutdown tests run in well under a second. */
inline beast::TransportOptions fast_transport() {
    beast::TransportOptions t;
    t.handshake_timeout = std::chrono::milliseconds(1000);
    t.idle_timeout = std::chrono::milliseconds(5000);
    t.max_handshakes_per_address = 0;  // the tests' clients all come from 127.0.0.1
    return t;
}

class TestServer {
public:
    /** `setup` runs before the server starts (hooks, types): the hub is not thread-safe to configure later. */
    explicit TestServer(Options hub_options = {}, beast::ServerOptions server_options = default_server_options(),
                        const std::function<void(Hub&)>& setup = {})
        : hub(std::move(hub_options)) {
        if (setup) setup(hub);
        server_options.port = 0;
        server = std::make_unique<beast::Server>(hub, std::move(server_options));
        if (auto error = server->listen()) throw std::runtime_error(error->message);
        runner = std::thread([this] { server->run(); });
    }

    ~TestServer() { stop(); }

    /** Graceful shutdown; returns when run() has returned. */
    void stop() {
        if (!runner.joinable()) return;
        server->stop();
        runner.join();
    }

    std::uint16_t port() const { return server->port(); }

    static beast::ServerOptions default_server_options() {
        beast::ServerOptions o;
        o.threads = 2;
        o.transport = fast_transport();
        return o;
    }

    Hub hub;
    std::unique_ptr<beast::Server> server;
    std::thread runner;
};

/** Connect and read `login`, failing the test otherwise. */
inline std::unique_ptr<WsClient> join(std::uint16_t port, const std::string& target = "/") {
    auto client = std::make_unique<WsClient>();
    auto login = client->login(port, target);
    REQUIRE(login);
    REQUIRE((*login)["type"] == "login");
    return client;
}

}  // namespace switchboard::test

// The Beast adapter's Server as the conformance kit wants a target: on
// 127.0.0.1, configured from the kit's TransportSettings. Shared by the kit
// suites (tests/kit, and the clustered run in tests/redis).
#pragma once

#include <memory>
#include <stdexcept>
#include <thread>

#include <switchboard/beast.hpp>
#include <switchboard/testing/conformance.hpp>

namespace switchboard::test {

namespace sb = switchboard;

/** switchboard::beast::Server on 127.0.0.1, run by one thread, as the kit wants it. */
class BeastServer {
public:
    std::uint16_t start(sb::Hub& hub, const sb::testing::TransportSettings& settings) {
        sb::beast::ServerOptions options;
        options.host = "127.0.0.1";
        options.port = 0;
        options.threads = 2;
        static_cast<sb::TransportOptions&>(options.transport) = settings;
        options.transport.queue_max_messages = settings.queue_max_messages;
        options.transport.max_handshakes_per_address = 0;  // every client of the kit comes from 127.0.0.1
        server_ = std::make_unique<sb::beast::Server>(hub, options);
        if (auto error = server_->listen()) throw std::runtime_error(error->code + ": " + error->message);
        thread_ = std::thread([this] { server_->run(); });
        return server_->port();
    }

    void stop() {
        server_->stop();
        thread_.join();
        server_.reset();
    }

private:
    std::unique_ptr<sb::beast::Server> server_;
    std::thread thread_;
};

}  // namespace switchboard::test

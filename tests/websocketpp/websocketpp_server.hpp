// The websocketpp adapter on a websocketpp server as the conformance kit
// wants a target: on 127.0.0.1, configured from the kit's TransportSettings.
// Shared by the kit suites (tests/websocketpp, and the clustered run in
// tests/redis).
#pragma once

#include <memory>
#include <stdexcept>
#include <thread>

#include <switchboard/testing/conformance.hpp>
#include <switchboard/websocketpp.hpp>

namespace switchboard::test {

namespace sb = switchboard;

/** A websocketpp server on 127.0.0.1, run by one thread, as the kit wants it. */
class WebsocketppServer {
public:
    std::uint16_t start(sb::Hub& hub, const sb::testing::TransportSettings& settings) {
        server_ = std::make_unique<sb::websocketpp::Server>();
        server_->clear_access_channels(::websocketpp::log::alevel::all);
        server_->clear_error_channels(::websocketpp::log::elevel::all);
        server_->init_asio();
        server_->set_reuse_addr(true);
        adapter_ = std::make_unique<sb::websocketpp::Adapter>(hub, *server_, settings);
        server_->listen(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
        boost::system::error_code ec;
        auto port = server_->get_local_endpoint(ec).port();
        if (ec) throw std::runtime_error("no local endpoint: " + ec.message());
        server_->start_accept();
        thread_ = std::thread([this] { server_->run(); });
        return port;
    }

    void stop() {
        adapter_->close_all();
        thread_.join();  // run() returns once every connection has closed
        adapter_.reset();
        server_.reset();
    }

private:
    std::unique_ptr<sb::websocketpp::Server> server_;
    std::unique_ptr<sb::websocketpp::Adapter> adapter_;
    std::thread thread_;
};

}  // namespace switchboard::test

// The conformance kit against the websocketpp adapter: one test per clause.
#include <memory>
#include <stdexcept>
#include <thread>

#include <switchboard/testing/conformance.hpp>
#include <switchboard/websocketpp.hpp>

#include "catch.hpp"

namespace {

namespace sb = switchboard;

/** A websocketpp server on 127.0.0.1, run by one thread, as the kit wants it. */
class WebsocketppServer {
public:
    std::uint16_t start(sb::Hub& hub, const sb::testing::TransportSettings& settings) {
        server_ = std::make_unique<sb::websocketpp::Server>();
        server_->clear_access_channels(websocketpp::log::alevel::all);
        server_->clear_error_channels(websocketpp::log::elevel::all);
        server_->init_asio();
        server_->set_reuse_addr(true);
        sb::websocketpp::TransportOptions options;
        options.queue_max_bytes = settings.queue_max_bytes;
        options.read_message_max = settings.read_message_max;
        options.handshake_timeout = settings.handshake_timeout;
        options.idle_timeout = settings.idle_timeout;
        adapter_ = std::make_unique<sb::websocketpp::Adapter>(hub, *server_, options);
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

void check_clause(const char* name) {
    WebsocketppServer server;
    sb::testing::Target target;
    target.start = [&](sb::Hub& hub, const sb::testing::TransportSettings& s) { return server.start(hub, s); };
    target.stop = [&] { server.stop(); };
    sb::testing::KitOptions options;
    options.only = {name};
    auto report = sb::testing::run_conformance(target, options);
    INFO(report.text());
    CHECK(report.passed());
}

}  // namespace

#define SWITCHBOARD_CLAUSE(name)                       \
    TEST_CASE("conformance: " name, "[websocketpp]") { \
        check_clause(name);                            \
    }

SWITCHBOARD_CLAUSE("login")
SWITCHBOARD_CLAUSE("routing")
SWITCHBOARD_CLAUSE("pass-through")
SWITCHBOARD_CLAUSE("presence")
SWITCHBOARD_CLAUSE("errors")
SWITCHBOARD_CLAUSE("rate-limited")
SWITCHBOARD_CLAUSE("room-full")
SWITCHBOARD_CLAUSE("too-many-rooms")
SWITCHBOARD_CLAUSE("handshake-refusals")
SWITCHBOARD_CLAUSE("rooms-isolation")
SWITCHBOARD_CLAUSE("oversized-message")
SWITCHBOARD_CLAUSE("binary-frame")
SWITCHBOARD_CLAUSE("slow-consumer")
SWITCHBOARD_CLAUSE("dead-peer")
SWITCHBOARD_CLAUSE("concurrent-connects")
SWITCHBOARD_CLAUSE("clean-shutdown")

TEST_CASE("every conformance clause has a test above", "[websocketpp]") {
    CHECK(sb::testing::clause_names().size() == 16);
}

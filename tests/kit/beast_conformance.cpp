// The conformance kit against the Beast adapter's Server: one test per clause.
#include <memory>
#include <stdexcept>
#include <thread>

#include <switchboard/beast.hpp>
#include <switchboard/testing/conformance.hpp>

#include "catch.hpp"

namespace {

namespace sb = switchboard;

/** switchboard::beast::Server on 127.0.0.1, run by one thread, as the kit wants it. */
class BeastServer {
public:
    std::uint16_t start(sb::Hub& hub, const sb::testing::TransportSettings& settings) {
        sb::beast::ServerOptions options;
        options.host = "127.0.0.1";
        options.port = 0;
        options.threads = 2;
        options.transport.queue_max_bytes = settings.queue_max_bytes;
        options.transport.queue_max_messages = settings.queue_max_messages;
        options.transport.read_message_max = settings.read_message_max;
        options.transport.handshake_timeout = settings.handshake_timeout;
        options.transport.idle_timeout = settings.idle_timeout;
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

void check_clause(const char* name) {
    BeastServer server;
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
    TEST_CASE("beast conformance: " name, "[beast]") { \
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

TEST_CASE("beast: every conformance clause has a test above", "[beast]") {
    CHECK(sb::testing::clause_names().size() == 16);
}

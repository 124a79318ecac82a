// The bundled listener (Server): binds, accepts, loads TLS, runs the
// threads, and shuts down gracefully. Each accepted socket goes to
// start_http (http_session.cpp).
#include "adapter_state.hpp"

#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

namespace switchboard::beast {

namespace net = boost::asio;
namespace bb = boost::beast;
namespace ssl = net::ssl;
using net::ip::tcp;

// ---- Server ----

class Server::Impl {
public:
    Impl(Hub& hub, ServerOptions o) : options(std::move(o)), adapter(hub, options.transport) {}

    ~Impl() {
        // Connections destroyed with the io_context below must not call back into us.
        if (state) state->on_drained({});
    }

    void accept() {
        acceptor.async_accept(net::make_strand(io), [this](bb::error_code ec, detail::PlainStream::socket_type socket) {
            if (!acceptor.is_open()) return;
            if (ec) {
                state->log(LogLevel::warn, "accept failed: {}", ec.message());
                if (ec == net::error::no_descriptors) {
                    // Out of file descriptors: back off instead of spinning.
                    retry.expires_after(std::chrono::milliseconds(100));
                    retry.async_wait([this](bb::error_code e) {
                        if (!e) accept();
                    });
                    return;
                }
            } else if (tls_context) {
                detail::start_http(state, &options.http_handler, detail::TlsStream(std::move(socket), *tls_context));
            } else {
                detail::start_http(state, &options.http_handler, detail::PlainStream(std::move(socket)));
            }
            accept();
        });
    }

    void shut_down() {
        bb::error_code ignored;
        acceptor.close(ignored);
        retry.cancel();
        // Each session ends within close_timeout (twice over TLS: the closing
        // handshake, then close_notify); this is only the net under them.
        const auto grace = 2 * options.transport.close_timeout + std::chrono::milliseconds(500);
        deadline.expires_after(grace);
        deadline.async_wait([this](bb::error_code ec) {
            if (!ec) {
                state->log(LogLevel::warn, "some connections did not close in time; stopping anyway");
                io.stop();
            }
        });
        state->on_drained([this] {
            state->log(LogLevel::info, "all connections closed");
            io.stop();
        });
        adapter.close_all(close_code::going_away);
    }

    ServerOptions options;
    std::optional<ssl::context> tls_context;  // outlives the io_context: TLS streams point to it
    net::io_context io;
    Adapter adapter;
    std::shared_ptr<Adapter::State> state;
    net::strand<net::io_context::executor_type> control{io.get_executor()};
    tcp::acceptor acceptor{control};
    net::steady_timer retry{control};
    net::steady_timer deadline{control};
    std::uint16_t port = 0;
    std::atomic<bool> stopped{false};
};

Server::Server(Hub& hub, ServerOptions options) : impl_(std::make_unique<Impl>(hub, std::move(options))) {
    impl_->state = impl_->adapter.state_;
}

Server::~Server() = default;

std::optional<Error> Server::listen() {
    auto& o = impl_->options;
    if (!o.tls_cert_file.empty() || !o.tls_key_file.empty()) {
        if (o.tls_cert_file.empty() || o.tls_key_file.empty())
            return Error{"tls", "TLS needs both a certificate file and a key file"};
        auto& context = impl_->tls_context.emplace(ssl::context::tls_server);
        context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                            ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
        bb::error_code ec;
        context.use_certificate_chain_file(o.tls_cert_file, ec);
        if (ec)
            return Error{"tls", fmt::format("cannot load the TLS certificate {}: {}", o.tls_cert_file, ec.message())};
        context.use_private_key_file(o.tls_key_file, ssl::context::pem, ec);
        if (ec) return Error{"tls", fmt::format("cannot load the TLS key {}: {}", o.tls_key_file, ec.message())};
    }

    bb::error_code ec;
    tcp::resolver resolver(impl_->io);
    auto results =
        resolver.resolve(o.host, std::to_string(o.port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty())
        return Error{"listen", fmt::format("cannot resolve {}: {}", o.host, ec ? ec.message() : "no address")};
    tcp::endpoint endpoint = results.begin()->endpoint();

    auto& acceptor = impl_->acceptor;
    auto fail = [&](const char* what) {
        bb::error_code ignored;
        acceptor.close(ignored);
        return Error{"listen",
                     fmt::format("cannot listen on {}:{}: {} failed: {}", o.host, o.port, what, ec.message())};
    };
    acceptor.open(endpoint.protocol(), ec);
    if (ec) return fail("open");
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) return fail("setsockopt");
    acceptor.bind(endpoint, ec);
    if (ec) return fail("bind");
    acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen");
    impl_->port = acceptor.local_endpoint(ec).port();
    impl_->state->log(LogLevel::info, "listening on {} with {} thread(s)", url(), o.threads ? o.threads : 1);
    net::dispatch(impl_->control, [impl = impl_.get()] { impl->accept(); });
    return std::nullopt;
}

std::uint16_t Server::port() const noexcept {
    return impl_->port;
}

bool Server::tls() const noexcept {
    return impl_->tls_context.has_value();
}

std::string Server::url() const {
    const auto& host = impl_->options.host;
    bool v6 = host.find(':') != std::string::npos;
    return fmt::format("{}://{}{}{}:{}/", tls() ? "wss" : "ws", v6 ? "[" : "", host, v6 ? "]" : "", impl_->port);
}

void Server::run() {
    unsigned n = impl_->options.threads ? impl_->options.threads : 1;
    std::vector<std::thread> extra;
    for (unsigned i = 1; i < n; ++i)
        extra.emplace_back([this] { impl_->io.run(); });
    impl_->io.run();
    for (auto& t : extra)
        t.join();
}

void Server::stop() {
    if (impl_->stopped.exchange(true)) return;
    impl_->state->log(LogLevel::info, "shutting down");
    net::post(impl_->control, [impl = impl_.get()] { impl->shut_down(); });
}

net::io_context& Server::io_context() noexcept {
    return impl_->io;
}

Adapter& Server::adapter() noexcept {
    return impl_->adapter;
}

}  // namespace switchboard::beast

// Accepting, TLS and HTTP: everything before a request turns out to be a
// WebSocket upgrade (then websocket_session.cpp takes the stream over).
#include "detail.hpp"
#include "upgrade_request.hpp"

#include <optional>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace switchboard::beast {

namespace net = boost::asio;
namespace bb = boost::beast;
namespace http = bb::http;
namespace websocket = bb::websocket;
namespace ssl = net::ssl;
using net::ip::tcp;

namespace detail {
namespace {

/** Largest request body accepted on plain HTTP; the server only answers GET-like requests. */
constexpr std::uint64_t http_body_limit = 16 * 1024;

HttpResponse plain_response(http::status status, unsigned version, std::string body) {
    HttpResponse response{status, version};
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = std::move(body);
    return response;
}

/**
 * One HTTP connection: reads requests (keep-alive), answers them through
 * the handler, and hands the stream to the WebSocket side on an upgrade.
 * Runs on its stream's strand; only close() is called from other threads.
 */
template <class Next>
class HttpSession final : public Link, public std::enable_shared_from_this<HttpSession<Next>> {
    using Executor = typename bb::lowest_layer_type<Next>::executor_type;

public:
    HttpSession(std::shared_ptr<Adapter::State> state, const HttpHandler* handler, Next stream, std::string peer)
        : state_(std::move(state)),
          handler_(handler),
          stream_(std::move(stream)),
          executor_(bb::get_lowest_layer(stream_).get_executor()),
          peer_(std::move(peer)) {}

    ~HttpSession() override {
        state_->end_http(peer_);
        state_->remove(this);
    }

    void start() {
        if constexpr (std::is_same_v<Next, TlsStream>) {
            bb::get_lowest_layer(stream_).expires_after(state_->options.handshake_timeout);
            stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](bb::error_code ec) {
                if (ec) {
                    self->state_->log(LogLevel::debug, "TLS handshake failed: {}", ec.message());
                    return self->hang_up();
                }
                self->do_read();
            });
        } else {
            do_read();
        }
    }

    void close(int, std::string_view) override {
        // stream_ may have been handed to the WebSocket side meanwhile: only the strand may look at it.
        net::post(executor_, [self = this->shared_from_this()] { self->hang_up(); });
    }

private:
    void do_read() {
        parser_.emplace();
        parser_->body_limit(http_body_limit);
        bb::get_lowest_layer(stream_).expires_after(state_->options.handshake_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         bb::bind_front_handler(&HttpSession::on_read, this->shared_from_this()));
    }

    void on_read(bb::error_code ec, std::size_t) {
        if (ec) return hang_up();
        HttpRequest request = parser_->release();
        if (websocket::is_upgrade(request)) {
            handed_off_ = true;
            // What the read took past the request: frames of a client that did not wait for the 101.
            return serve_upgrade(state_, std::move(stream_), std::move(request), bb::buffers_to_string(buffer_.data()));
        }
        if (auto bad = missing_host(request)) {
            response_ = plain_response(http::status::bad_request, request.version(), bad->reason + "\n");
        } else if (!handler_) {
            auto refusal = plain_response(http::status::upgrade_required, request.version(),
                                          "this endpoint speaks WebSocket only\n");
            refusal.set(http::field::upgrade, "websocket");
            response_ = std::move(refusal);
        } else {
            try {
                response_ = (*handler_)(request);
            } catch (const std::exception& e) {
                state_->log(LogLevel::error, "HTTP handler failed on {}: {}",
                            std::string(request.target().data(), request.target().size()), e.what());
                response_ =
                    plain_response(http::status::internal_server_error, request.version(), "internal server error\n");
            }
        }
        std::visit([&](auto& response) { start_write(request, response); }, response_);
    }

    template <class Body>
    void start_write(const HttpRequest& request, http::response<Body>& response) {
        response.version(request.version());
        if (!response.has_content_length() || request.method() != http::verb::head) response.prepare_payload();
        if (!response.count(http::field::server)) response.set(http::field::server, "switchboard");
        keep_alive_ =
            request.keep_alive() && handler_ && !state_->stopping() && response.result() != http::status::bad_request;
        response.keep_alive(keep_alive_);
        write_some(std::make_shared<http::response_serializer<Body>>(response));
    }

    /**
     * One piece of the answer at a time (a file body reads a few kilobytes
     * per piece), each within handshake_timeout: a client that reads slowly
     * gets the whole answer, one that stops reading is dropped.
     */
    template <class Serializer>
    void write_some(std::shared_ptr<Serializer> serializer) {
        bb::get_lowest_layer(stream_).expires_after(state_->options.handshake_timeout);
        auto& s = *serializer;
        http::async_write_some(stream_, s,
                               [self = this->shared_from_this(), serializer = std::move(serializer)](
                                   bb::error_code ec, std::size_t) mutable {
                                   if (ec) return self->hang_up();
                                   if (!serializer->is_done()) return self->write_some(std::move(serializer));
                                   self->on_written();
                               });
    }

    void on_written() {
        response_ = HttpResponse{};  // closes a file now, not at the next answer
        if (!keep_alive_) return hang_up();
        do_read();
    }

    void hang_up() {
        if (handed_off_) return;
        bb::error_code ignored;
        auto& socket = bb::get_lowest_layer(stream_).socket();
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
    }

    std::shared_ptr<Adapter::State> state_;
    const HttpHandler* handler_;
    Next stream_;
    const Executor executor_;
    const std::string peer_;  // counted by begin_http until this session ends
    bb::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    HttpAnswer response_;
    bool keep_alive_ = false;
    bool handed_off_ = false;
};

template <class Next>
void start_http(const std::shared_ptr<Adapter::State>& state, const HttpHandler* handler, Next stream) {
    auto& socket = bb::get_lowest_layer(stream).socket();
    bb::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (ec) return;  // already gone
    auto peer = remote.address().to_string();
    if (!state->begin_http(peer)) {
        socket.close(ec);
        return;
    }
    set_no_delay(socket);
    auto session = std::make_shared<HttpSession<Next>>(state, handler, std::move(stream), std::move(peer));
    if (state->add(session)) session->start();
}

}  // namespace
}  // namespace detail

void Adapter::serve(tcp::socket socket) {
    detail::rehome_on_strand(std::move(socket),
                             [state = state_](auto stream) { detail::start_http(state, nullptr, std::move(stream)); });
}

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
        const auto grace = 2 * options.transport.handshake_timeout;
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

// The HTTP session of the bundled listener: reads requests (keep-alive),
// answers them through the host's handler, and hands the stream over to
// the WebSocket side when a request is an upgrade.
#include "adapter_state.hpp"
#include "upgrade_request.hpp"

#include <optional>
#include <utility>
#include <variant>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace switchboard::beast::detail {

namespace net = boost::asio;
namespace bb = boost::beast;
namespace http = bb::http;
namespace websocket = bb::websocket;
namespace ssl = net::ssl;
using net::ip::tcp;

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
class HttpSession final : public Closable, public std::enable_shared_from_this<HttpSession<Next>> {
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
        if (!handed_off_) close_socket(stream_);
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
void start_http_on(const std::shared_ptr<Adapter::State>& state, const HttpHandler* handler, Next stream) {
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

void start_http(const std::shared_ptr<Adapter::State>& state, const HttpHandler* handler, PlainStream stream) {
    start_http_on(state, handler, std::move(stream));
}

void start_http(const std::shared_ptr<Adapter::State>& state, const HttpHandler* handler, TlsStream stream) {
    start_http_on(state, handler, std::move(stream));
}

void start_http(const std::shared_ptr<Adapter::State>& state, const HttpHandler* handler, GenericStream stream) {
    start_http_on(state, handler, std::move(stream));
}

}  // namespace switchboard::beast::detail

// Serving an upgrade request: the checks of upgrade_request.hpp, the hub's
// admission, then either an HTTP refusal or a WebSocketSession.
#include "upgrade_request.hpp"
#include "websocket_session.hpp"

#include <utility>

#include <boost/beast/http/write.hpp>

namespace switchboard::beast::detail {

namespace net = boost::asio;
namespace bb = boost::beast;
namespace http = bb::http;

namespace {

/**
 * What a WebSocket runs on once the upgrade is admitted. A plain
 * connection drops its basic_stream (two timers and their state, about a
 * kilobyte per connection) and keeps the bare socket; TLS cannot be
 * unwrapped and keeps its stream.
 */
PlainStream::socket_type websocket_layer(PlainStream&& stream) {
    return stream.release_socket();
}
GenericStream::socket_type websocket_layer(GenericStream&& stream) {
    return stream.release_socket();
}
TlsStream websocket_layer(TlsStream&& stream) {
    return std::move(stream);
}

/** Writes one HTTP response (a refused upgrade) and hangs up. */
template <class Next>
class Refusal : public std::enable_shared_from_this<Refusal<Next>> {
public:
    Refusal(Next stream, HttpResponse response) : stream_(std::move(stream)), response_(std::move(response)) {}

    void start(std::chrono::milliseconds timeout) {
        bb::get_lowest_layer(stream_).expires_after(timeout);
        http::async_write(stream_, response_, [self = this->shared_from_this()](bb::error_code, std::size_t) {
            close_socket(self->stream_);
        });
    }

private:
    Next stream_;
    HttpResponse response_;
};

template <class Next>
void refuse(const std::shared_ptr<Adapter::State>& state, Next stream, const HttpRequest& request, http::status status,
            std::string_view reason) {
    HttpResponse response{status, request.version()};
    response.set(http::field::server, "switchboard");
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.keep_alive(false);
    response.body() = std::string(reason);
    response.prepare_payload();
    std::make_shared<Refusal<Next>>(std::move(stream), std::move(response))->start(state->options.handshake_timeout);
}

std::string to_string(bb::string_view s) {
    return std::string(s.data(), s.size());
}

/** What the hub sees of an upgrade request from `remote` (null: unknown). */
Handshake make_handshake(const HttpRequest& request, const net::ip::tcp::endpoint* remote) {
    Handshake handshake;
    auto target = split_target(std::string_view(request.target().data(), request.target().size()));
    handshake.path = target.path;
    handshake.query = target.query;
    for (const auto& field : request)
        handshake.headers.emplace_back(to_string(field.name_string()), to_string(field.value()));
    if (remote) handshake.remote_address = remote->address().to_string();
    return handshake;
}

template <class Next>
void serve(const std::shared_ptr<Adapter::State>& state, Next stream, HttpRequest request, std::string already_read) {
    if (!bb::websocket::is_upgrade(request))
        return refuse(state, std::move(stream), request, http::status::bad_request, "not a WebSocket upgrade");
    if (auto bad = bad_upgrade(request))
        return refuse(state, std::move(stream), request, http::status::bad_request, bad->reason);
    if (state->stopping())
        return refuse(state, std::move(stream), request, http::status::service_unavailable, "server shutting down");
    bb::error_code ec;
    auto remote = tcp_socket(bb::get_lowest_layer(stream)).remote_endpoint(ec);
    Admission admission = state->hub.admit(make_handshake(request, ec ? nullptr : &remote));
    if (!admission)
        return refuse(state, std::move(stream), request, static_cast<http::status>(admission.status()),
                      admission.reason());
    auto layer = websocket_layer(std::move(stream));
    auto session = std::make_shared<WebSocketSession<decltype(layer)>>(state, std::move(layer));
    if (state->add(session)) session->start(std::move(request), std::move(admission), std::move(already_read));
}

}  // namespace

void serve_upgrade(const std::shared_ptr<Adapter::State>& state, PlainStream stream, HttpRequest request,
                   std::string already_read) {
    serve(state, std::move(stream), std::move(request), std::move(already_read));
}

void serve_upgrade(const std::shared_ptr<Adapter::State>& state, TlsStream stream, HttpRequest request,
                   std::string already_read) {
    serve(state, std::move(stream), std::move(request), std::move(already_read));
}

void serve_upgrade(const std::shared_ptr<Adapter::State>& state, GenericStream stream, HttpRequest request,
                   std::string already_read) {
    serve(state, std::move(stream), std::move(request), std::move(already_read));
}

}  // namespace switchboard::beast::detail

// Internal to switchboard_beast: what the two translation units share.
//
// websocket_session.cpp owns everything after an upgrade request was read
// (admission, the WebSocket and its queue); server.cpp owns accepting, TLS
// and HTTP. Splitting them keeps each Beast-heavy TU small enough to build
// in parallel.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <fmt/format.h>

#include <switchboard/beast.hpp>

namespace switchboard::beast {

namespace detail {

/**
 * Connections run on a strand of an io_context, with that concrete executor
 * type. The type-erased `any_io_executor` (what `tcp_stream` uses) boxes a
 * strand in a heap-allocated, reference-counted object and copies it at
 * every step of every Beast operation: about a quarter of the server's CPU
 * per relayed message (perf, bench/README.md).
 */
using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
using PlainStream = boost::beast::basic_stream<boost::asio::ip::tcp, Strand>;
using TlsStream = boost::beast::ssl_stream<PlainStream>;
/** Adapter::serve given a socket whose execution context is not an io_context (rare): the slower generic path. */
using GenericStream = boost::beast::tcp_stream;

/** Anything the adapter must be able to close at shutdown: WebSocket and HTTP connections. */
class Link {
public:
    virtual ~Link() = default;
    /** Thread-safe. Close with `code` (WebSocket) or just hang up (HTTP). */
    virtual void close(int code, std::string_view reason) = 0;
};

}  // namespace detail

class Adapter::State {
public:
    State(Hub& hub, TransportOptions options);

    Hub& hub;
    const TransportOptions options;
    const std::size_t read_message_max;  ///< options.read_message_max or the hub's limit

    /** Registers a live link; false (do not serve it) once close_all has begun. */
    bool add(const std::shared_ptr<detail::Link>& link);
    /** Called by a link when it is gone (from its destructor). */
    void remove(const detail::Link* link);
    void close_all(int code);
    bool stopping() const;

    /**
     * Counts one more connection in its HTTP phase from `address`; false
     * (do not serve it) when that is over TransportOptions::max_http_connections
     * or max_handshakes_per_address. Every true is matched by end_http.
     */
    bool begin_http(const std::string& address);
    void end_http(const std::string& address);

    /** Runs once, on the thread that removes the last link, after close_all. */
    void on_drained(std::function<void()> callback);

    std::atomic<std::size_t> websockets{0};

    template <class... Args>
    void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
        const auto& o = hub.options();
        if (!o.log_sink || level < o.log_level || o.log_level == LogLevel::off) return;
        o.log_sink(level, fmt::format(format, std::forward<Args>(args)...));
    }

private:
    void maybe_drained(std::unique_lock<std::mutex>& lock);

    mutable std::mutex mutex_;
    bool stopping_ = false;
    std::unordered_map<const detail::Link*, std::weak_ptr<detail::Link>> links_;
    std::size_t http_connections_ = 0;
    std::unordered_map<std::string, std::size_t> handshakes_;  // by peer address
    std::function<void()> on_drained_;
};

namespace detail {

/**
 * Serve one WebSocket upgrade whose request was read from `stream`: admit,
 * answer a refusal over HTTP, or accept and run the session. Runs on the
 * stream's executor, which must be a strand (or single-threaded).
 */
void serve_upgrade(const std::shared_ptr<Adapter::State>& state, PlainStream stream, HttpRequest request,
                   std::string already_read);
void serve_upgrade(const std::shared_ptr<Adapter::State>& state, TlsStream stream, HttpRequest request,
                   std::string already_read);
void serve_upgrade(const std::shared_ptr<Adapter::State>& state, GenericStream stream, HttpRequest request,
                   std::string already_read);

/**
 * Signalling messages are small and latency-bound: send each frame at once
 * instead of letting Nagle hold it back behind an unacknowledged one. Set
 * once per accepted socket, on both entry paths (Server accepts and
 * Adapter::serve with a request already read).
 */
template <class Socket>
void set_no_delay(Socket& socket) {
    boost::system::error_code ignored;  // a socket that is already gone fails later, where it is handled
    socket.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
}

/** What the hub sees of an upgrade request from `remote` (null: unknown). */
Handshake make_handshake(const HttpRequest& request, const boost::asio::ip::tcp::endpoint* remote);

/**
 * The io_context behind `socket`'s executor when that is an io_context
 * executor or a strand of one (what accepting on an io_context gives);
 * null otherwise.
 */
inline boost::asio::io_context* io_context_of(boost::asio::ip::tcp::socket& socket) {
    using IoExecutor = boost::asio::io_context::executor_type;
    const auto& executor = socket.get_executor();
    if (auto* io = executor.target<IoExecutor>()) return &io->context();
    if (auto* strand = executor.target<boost::asio::strand<IoExecutor>>())
        return &strand->get_inner_executor().context();
    return nullptr;
}

/**
 * Moves an accepted socket onto a strand of its own and calls
 * `start(stream)` there. A socket from an io_context gets the concrete
 * strand type (a PlainStream); any other executor gets a GenericStream.
 * `start` must accept both. Does nothing if the socket is already gone.
 */
template <class Start>
void rehome_on_strand(boost::asio::ip::tcp::socket socket, Start start) {
    boost::system::error_code ec;
    auto endpoint = socket.local_endpoint(ec);
    if (ec) return;
    auto* io = io_context_of(socket);
    auto generic = io ? boost::asio::any_io_executor() : socket.get_executor();
    auto handle = socket.release(ec);
    if (ec) return;
    if (io) {
        auto strand = boost::asio::make_strand(*io);
        PlainStream::socket_type rehomed(strand, endpoint.protocol(), handle);
        boost::asio::dispatch(
            strand, [s = std::move(rehomed), start = std::move(start)]() mutable { start(PlainStream(std::move(s))); });
        return;
    }
    auto strand = boost::asio::make_strand(generic);
    boost::asio::ip::tcp::socket rehomed(strand, endpoint.protocol(), handle);
    boost::asio::dispatch(
        strand, [s = std::move(rehomed), start = std::move(start)]() mutable { start(GenericStream(std::move(s))); });
}

}  // namespace detail
}  // namespace switchboard::beast

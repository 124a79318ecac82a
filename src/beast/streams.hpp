// Internal to switchboard_beast: the streams a connection runs on, and the
// few things done to the socket at the bottom of each.
#pragma once

#include <chrono>
#include <memory>
#include <type_traits>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace switchboard::beast::detail {

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

/** Asio sockets can wait for readability without a buffer; TLS streams cannot. */
template <class T>
struct is_bare_socket : std::false_type {};
template <class Protocol, class Executor>
struct is_bare_socket<boost::asio::basic_stream_socket<Protocol, Executor>> : std::true_type {};

/** The TCP socket at the bottom of a stack: a basic_stream's, or the socket itself once unwrapped. */
template <class Protocol, class Executor, class RatePolicy>
auto& tcp_socket(boost::beast::basic_stream<Protocol, Executor, RatePolicy>& stream) {
    return stream.socket();
}
template <class Protocol, class Executor>
auto& tcp_socket(boost::asio::basic_stream_socket<Protocol, Executor>& socket) {
    return socket;
}

/** Ends both directions of the TCP connection under `stream`: pending reads and writes fail. The socket stays open. */
template <class Stream>
void shut_down(Stream& stream) {
    boost::system::error_code ignored;
    tcp_socket(boost::beast::get_lowest_layer(stream)).shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
}

/** Shuts the TCP connection under `stream` down and closes its socket. */
template <class Stream>
void close_socket(Stream& stream) {
    shut_down(stream);
    boost::system::error_code ignored;
    tcp_socket(boost::beast::get_lowest_layer(stream)).close(ignored);
}

/** A basic_stream's own timeouts end with the HTTP phase: the WebSocket has its own. */
template <class Protocol, class Executor, class RatePolicy>
void end_http_timeouts(boost::beast::basic_stream<Protocol, Executor, RatePolicy>& stream) {
    stream.expires_never();
}
template <class Protocol, class Executor>
void end_http_timeouts(boost::asio::basic_stream_socket<Protocol, Executor>&) {}

/**
 * Ends the TLS session with close_notify, waits for the client's at most
 * `timeout`, then closes the socket; `keep` (what owns `stream`) is held
 * until then. Clients see a clean end instead of a truncated stream.
 */
template <class Keep>
void end_tls_then_close(TlsStream& stream, std::chrono::milliseconds timeout, Keep keep) {
    auto timer = std::make_shared<boost::asio::basic_waitable_timer<
        std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>, Strand>>(stream.get_executor(),
                                                                                                 timeout);
    timer->async_wait([&stream, keep](boost::system::error_code ec) {
        if (!ec) close_socket(stream);
    });
    stream.async_shutdown([&stream, timer, keep = std::move(keep)](boost::system::error_code) {
        timer->cancel();
        close_socket(stream);
    });
}

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

}  // namespace switchboard::beast::detail

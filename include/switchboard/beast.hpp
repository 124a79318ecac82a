// Switchboard: the Boost.Beast adapter (target switchboard::beast).
//
// Two ways to put a Hub on the network with Boost.Asio/Beast:
//
//   1. Embed it in a server you already have: keep your own acceptor and
//      HTTP routing, and hand each WebSocket upgrade to an `Adapter`
//      (`Adapter::serve`). Your io_context, your threads.
//   2. Run a complete `Server`: it binds a port, accepts, speaks HTTP and
//      WebSocket (optionally over TLS) on that one port, runs N threads and
//      shuts down gracefully. switchboard-server is a thin main() around it.
//
// What the adapter does for every WebSocket, whichever way it was accepted:
//   - the upgrade request goes to `hub.admit()`: the path selects the room,
//     the Origin allow-list and the authorize hook may refuse it; a refused
//     upgrade is answered with that HTTP status (403, 404) and the reason as
//     the body;
//   - text messages go to `hub.receive()`, one at a time, in order;
//   - outgoing messages wait in a bounded per-connection queue (see
//     `TransportOptions`): messages routed from other users may take half
//     of it (beyond that the sender gets `recipient-busy`), the server's
//     own messages the rest; a client whose queue overflows even so is
//     closed with 1008 "too slow" and counted as transport close
//     "slow-consumer"; whatever is queued when the previous send ends goes
//     out together, several frames per send call;
//   - pings are answered with pongs in the same queue; while one waits, a
//     newer ping replaces its payload, so a ping flood costs one frame;
//   - a close frame from the client, a protocol error, a keep-alive
//     timeout or a close asked for by the hub take the user out of the hub
//     at once (the others get `user-left`); the closing handshake then has
//     `close_timeout`, even if the client has stopped reading;
//   - upgrade requests without a Host header, or whose Sec-WebSocket-Key is
//     not 16 bytes in base64, get HTTP 400 (RFC 6455 4.2.1, RFC 9112);
//   - messages longer than the hub's `Limits::max_message_bytes` are refused
//     by the WebSocket reader itself: close 1009, counted "message-too-big"
//     (so clients of this adapter never see the `message-too-large` error
//     unless `TransportOptions::read_message_max` is set above the hub's
//     limit);
//   - binary frames are not part of the protocol: close 1003, counted
//     "binary-frame"; frames that break RFC 6455 close with 1002, text that
//     is not UTF-8 with 1007;
//   - keep-alive: the server pings a client that sent nothing for half the
//     idle timeout; one that then sends nothing, not even the pong, for
//     another half is dropped (close 1008 "keep-alive timeout", best
//     effort), counted "keepalive-timeout"; the user leaves as a lost
//     connection (it may resume within Options::resume_window).
//
// Threads: every connection runs on its own strand of the io_context, so an
// io_context may be run by any number of threads. `Connection::send` and
// `close` (called by the hub from whichever thread routed the message) only
// take a short lock and post to that strand.
//
// Example (a complete server, what switchboard-server does):
//
//   switchboard::Hub hub;
//   switchboard::beast::ServerOptions options;
//   options.port = 0;                   // any free port
//   options.threads = 4;
//   switchboard::beast::Server server(hub, options);
//   if (auto error = server.listen()) { std::cerr << error->message << '\n'; return 1; }
//   std::cout << "listening on " << server.url() << std::endl;
//   server.run();                       // until server.stop() is called
//
// Example (embedded: inside your own Beast HTTP session, once you have read
// a request and found it is a WebSocket upgrade):
//
//   switchboard::beast::Adapter adapter(hub);          // lives as long as your server
//   ...
//   if (boost::beast::websocket::is_upgrade(request))
//       return adapter.serve(stream.release_socket(), std::move(request));
//
// See examples/beast_embed for a whole program.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <switchboard/errors.hpp>
#include <switchboard/hub.hpp>
#include <switchboard/transport.hpp>

namespace switchboard::beast {

/** The HTTP request and response types the adapter reads and writes. */
using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

/**
 * A response whose body is an open file. The server sends it a few
 * kilobytes at a time as the client reads, so a large file costs its file
 * descriptor and one small buffer, whatever its size.
 */
using FileResponse = boost::beast::http::response<boost::beast::http::file_body>;

/**
 * The shared transport settings (transport.hpp) and what only this adapter
 * has. Here the outgoing queue holds the messages waiting behind the batch
 * being written, bounded in bytes (`queue_max_bytes`) and in messages;
 * `handshake_timeout` also bounds the TLS handshake, and `close_timeout`
 * over TLS the wait for the client's close_notify after the closing
 * handshake (the user has left the hub before that wait begins).
 */
struct TransportOptions : switchboard::TransportOptions {
    /** The queue bound in messages, applied like queue_max_bytes: routed messages may take half. */
    std::size_t queue_max_messages = 1024;

    /**
     * Connections this adapter reads HTTP on (`Server`, `Adapter::serve`
     * with a bare socket) until they upgrade or close: at most this many at
     * once in all, and at most `max_handshakes_per_address` from one peer
     * address (trusted proxies, Options::trusted_proxies, are exempt). One
     * over either is closed at once, counted as transport close
     * "too-many-http-connections" or "too-many-handshakes". 0: no limit.
     */
    std::size_t max_http_connections = 1024;
    std::size_t max_handshakes_per_address = 32;
};

/**
 * Turns accepted TCP connections into hub sessions. Use it directly to
 * embed Switchboard in an existing Asio/Beast server; `Server` uses one too.
 *
 * Ownership: the Hub must outlive the Adapter and every connection it
 * serves (in practice: destroy the hub after your io_context has stopped
 * and been destroyed). Connections keep the adapter's shared state alive,
 * so destroying the Adapter itself while connections run is safe.
 *
 * All member functions are thread-safe.
 */
class Adapter {
public:
    explicit Adapter(Hub& hub, TransportOptions options = {});
    ~Adapter();
    Adapter(const Adapter&) = delete;
    Adapter& operator=(const Adapter&) = delete;

    /**
     * Serve a WebSocket upgrade whose HTTP request you already read from
     * `socket`. Returns at once; the connection then runs on a new strand
     * of the socket's executor. A refused handshake (see Hub::admit) and a
     * request that is not a WebSocket upgrade are answered with an HTTP
     * error and closed.
     *
     * `already_read`: the bytes your HTTP reader took from the socket past
     * the request (what is left in your buffer, e.g.
     * `beast::buffers_to_string(buffer.data())` after `http::async_read`).
     * A client that does not wait for the 101 may have sent its first
     * frames with the request; they are read before the socket.
     */
    void serve(boost::asio::ip::tcp::socket socket, HttpRequest request, std::string_view already_read = {});

    /**
     * Serve a freshly accepted socket: read the upgrade request (within
     * `handshake_timeout`), then as above.
     */
    void serve(boost::asio::ip::tcp::socket socket);

    /**
     * Graceful shutdown: refuse new connections (HTTP 503) and close every
     * open one with `code` (default 1001, "server shutting down"). Sessions
     * finish asynchronously, within `close_timeout` (twice that over TLS).
     */
    void close_all(int code = close_code::going_away);

    /** WebSocket connections currently served (upgraded and not yet torn down). */
    std::size_t connection_count() const;

    const TransportOptions& options() const noexcept;

    /** Internal: the state shared with the connections. */
    class State;

private:
    std::shared_ptr<State> state_;
    friend class Server;
};

/** What an HttpHandler answers: a body held in memory, or a file streamed from disk. */
using HttpAnswer = std::variant<HttpResponse, FileResponse>;

/**
 * Answers plain HTTP requests (everything that is not a WebSocket upgrade)
 * on a `Server`'s port. Runs on the connection's strand, on one of the
 * server's threads, possibly on several threads at once for different
 * connections. For HEAD requests, return the headers of the GET answer with
 * an empty body and set Content-Length yourself.
 *
 * The server writes an answer as fast as the client reads it: each write
 * must make progress within `handshake_timeout`, or the connection is
 * closed (a client that stops reading holds no more than its socket's
 * buffers). Connections that wait for an answer count against
 * `max_http_connections` like any other.
 */
using HttpHandler = std::function<HttpAnswer(const HttpRequest& request)>;

struct ServerOptions {
    std::string host = "127.0.0.1";  ///< address to bind (IPv4 or IPv6 literal)
    std::uint16_t port = 8080;       ///< 0: any free port (see Server::port)
    unsigned threads = 1;            ///< threads running the io_context inside run()
    TransportOptions transport;
    /** PEM files. When both are set the server speaks only TLS (https:// and wss://). */
    std::string tls_cert_file;
    std::string tls_key_file;
    /** Plain HTTP requests. Unset: every such request gets 404. */
    HttpHandler http_handler;
};

/**
 * A complete WebSocket + HTTP server around a Hub: one port, N threads.
 *
 * Lifecycle: construct, `listen()`, `run()` on one thread (it runs
 * `threads - 1` more itself); `stop()` from anywhere (a signal handler
 * posted on `io_context()`, another thread) makes `run()` return once every
 * connection has closed: within `close_timeout` (twice that over TLS,
 * whose close_notify follows the closing handshake), answered or not. The
 * Hub must outlive the Server.
 */
class Server {
public:
    Server(Hub& hub, ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /**
     * Load the TLS files (when set) and bind. Errors are returned, not
     * thrown: code "tls" (a file could not be loaded) or "listen" (the
     * address could not be bound), with a human message.
     */
    std::optional<Error> listen();

    /** The bound port (the real one when options.port was 0). 0 before listen(). */
    std::uint16_t port() const noexcept;
    /** True when serving TLS. */
    bool tls() const noexcept;
    /** "ws://HOST:PORT/" or "wss://HOST:PORT/" (IPv6 hosts in brackets). */
    std::string url() const;

    /** Accept and serve until stop(); blocks. Call once, after a successful listen(). */
    void run();

    /** Graceful shutdown (see Adapter::close_all). Thread-safe, idempotent. */
    void stop();

    /** The server's io_context, e.g. to add an asio::signal_set or timers. */
    boost::asio::io_context& io_context() noexcept;

    /** The adapter serving this server's WebSockets. */
    Adapter& adapter() noexcept;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace switchboard::beast

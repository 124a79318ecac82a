// Switchboard: the websocketpp adapter (target switchboard::websocketpp).
//
// Puts a Hub on an existing websocketpp server: you keep your
// `websocketpp::server<websocketpp::config::asio>`, its io_service, its
// threads, its HTTP handler and its listening socket; the `Adapter`
// installs the WebSocket handlers on it (validate, open, message, close,
// fail, ping, pong, pong_timeout) and turns every WebSocket into a hub
// session.
//
// What the adapter does for every WebSocket (the same as the Beast adapter,
// with the same option names):
//   - the upgrade request goes to `hub.admit()` in the validate handler: the
//     path selects the room, the Origin allow-list and the authorize hook may
//     refuse it; a refused upgrade is answered with that HTTP status (403,
//     404) and the reason as the body; during shutdown, 503;
//   - text messages go to `hub.receive()`, one at a time, in order;
//   - upgrade requests without a Host header, or whose Sec-WebSocket-Key
//     is not 16 bytes in base64, get HTTP 400;
//   - outgoing messages wait in websocketpp's own per-connection buffer:
//     messages routed from other users may fill half of
//     `TransportOptions::queue_max_bytes` (beyond that the sender gets
//     `recipient-busy`); a message from the server itself that would take
//     it over the whole bound closes the connection instead (1008 "too
//     slow", transport close "slow-consumer");
//   - websocketpp answers pings itself; a client that keeps pinging while
//     its connection is backed up (it does not read) is owed at most 64
//     pongs, then closed as "slow-consumer";
//   - a close frame from the client: websocketpp tells an adapter only when
//     its closing handshake has ended, so the user leaves the hub then, at
//     most `close_timeout` later when the client has stopped reading
//     (the Beast adapter takes it out at once);
//   - messages longer than `read_message_max` (default: the hub's
//     `Limits::max_message_bytes`) are refused by websocketpp's reader:
//     close 1009, counted "message-too-big";
//   - binary frames are not part of the protocol: close 1003, counted
//     "binary-frame";
//   - keep-alive: every half `idle_timeout` the adapter pings a client from
//     which nothing arrived meanwhile; no pong within the other half closes
//     it with 1008 (counted "keepalive-timeout") and the others get
//     `user-left`.
//
// The constructor also sets the server's open and close handshake timeouts
// to `handshake_timeout` and `close_timeout`. Handlers you set for the events listed above are
// replaced: observe users with Hub::on_join/on_leave/on_authorize instead.
// The HTTP handler, socket options, logging and everything else stay yours.
//
// Threads: handlers run on whichever threads run the server's io_service
// (websocketpp serialises each connection's handlers). `Connection::send`
// and `close`, called by the hub from any thread, resolve the connection's
// `connection_hdl` (an expired one counts as closed and is ignored) and use
// websocketpp's internally locked `send`/`close`, so they never block on
// the network.
//
// Example (your server, with your own HTTP handler):
//
//   websocketpp::server<websocketpp::config::asio> server;
//   server.init_asio();
//   server.set_http_handler(...);                  // your pages, untouched
//   switchboard::Hub hub;
//   switchboard::websocketpp::Adapter adapter(hub, server);
//   server.listen(8080);
//   server.start_accept();
//   server.run();
//   ...
//   adapter.close_all();                            // from any thread: stop listening, close 1001
//
// See examples/websocketpp_embed for a whole program.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

#include <switchboard/errors.hpp>
#include <switchboard/hub.hpp>
#include <switchboard/transport.hpp>

namespace switchboard::websocketpp {

/** The websocketpp server type the adapter plugs into (plain TCP, Asio transport). */
using Server = ::websocketpp::server<::websocketpp::config::asio>;

/**
 * The shared transport settings (transport.hpp). Here `queue_max_bytes`
 * bounds the bytes waiting in websocketpp's outgoing buffer of one
 * connection (websocketpp reports bytes only, so there is no message-count
 * bound as in the Beast adapter), and `handshake_timeout` and
 * `close_timeout` are set on the server for the opening and the closing
 * handshake.
 */
using TransportOptions = switchboard::TransportOptions;

/**
 * Serves Switchboard's WebSockets on a websocketpp server.
 *
 * Ownership: the Hub and the Server must outlive every connection the
 * adapter serves (in practice: stop the server's io_service, then destroy
 * the server, then the hub). The handlers keep the adapter's shared state
 * alive, so destroying the Adapter itself while the server runs is safe.
 *
 * All member functions are thread-safe.
 */
class Adapter {
public:
    /** Installs the handlers on `server`; call it before `server.listen()`. */
    Adapter(Hub& hub, Server& server, TransportOptions options = {});
    ~Adapter();
    Adapter(const Adapter&) = delete;
    Adapter& operator=(const Adapter&) = delete;

    /**
     * Graceful shutdown: stop listening, refuse upgrades still in progress
     * (HTTP 503) and close every open WebSocket with `code` (default 1001,
     * "server shutting down"). The server's `run()` then returns once the
     * closing handshakes are done (or timed out) and your own work on the
     * io_service is finished.
     */
    void close_all(int code = close_code::going_away);

    /** WebSocket connections currently open (upgraded and not yet closed). */
    std::size_t connection_count() const;

    const TransportOptions& options() const noexcept;

    /** Internal: the state shared with the handlers. */
    class State;

private:
    std::shared_ptr<State> state_;
};

}  // namespace switchboard::websocketpp

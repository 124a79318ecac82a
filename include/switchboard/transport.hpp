// Switchboard: what every transport adapter shares.
//
// An adapter puts a Hub on the network: it reads upgrade requests, turns
// each admitted one into a Connection, feeds text messages to
// Hub::receive, and writes what the hub sends. The bundled adapters
// (beast.hpp, websocketpp.hpp) and yours speak the same vocabulary:
//
//   - TransportOptions: the settings every adapter has (the outgoing queue
//     bound, the read limit, the opening and closing handshake times, the
//     keep-alive period). An
//     adapter with more settings extends it (beast::TransportOptions).
//   - transport_close (errors.hpp): the reasons an adapter closes a
//     connection on its own, counted with Hub::count_transport_close and
//     shown by /metrics.
//   - split_target: the request target of an upgrade as the Handshake's
//     path and query.
//   - log: a line to the hub's log sink, at the hub's log level.
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

#include <switchboard/options.hpp>

namespace switchboard {

/** Per-connection transport settings. The defaults suit a server on the open internet. */
struct TransportOptions {
    /**
     * Bound on the bytes waiting to be written to one connection. A
     * message routed from another user is refused once it would take the
     * queue over half of this (the hub answers its sender
     * `recipient-busy`; see Connection::offer). A message from the server
     * itself that would take it over the whole closes the connection
     * instead (1008 "too slow", transport close "slow-consumer") and drops
     * what was queued. An empty queue accepts one message however large.
     */
    std::size_t queue_max_bytes = 4 * 1024 * 1024;

    /**
     * Largest WebSocket message the reader accepts; longer ones close the
     * connection with 1009 (transport close "message-too-big"). 0 (default)
     * means the hub's `Limits::max_message_bytes`: see read_limit.
     */
    std::size_t read_message_max = 0;

    /** Limit for the opening handshake: reading the upgrade request, and TLS. */
    std::chrono::milliseconds handshake_timeout{10'000};
    /**
     * Limit for the closing handshake. Once a connection is closing (the
     * hub or the client asked, or the server is stopping), what was queued
     * and the close frame get this long to go out and the client this long
     * to answer; then the connection is dropped, answered or not. It also
     * bounds the TLS close_notify that follows. A graceful stop of a whole
     * server therefore returns within about this time (twice over TLS),
     * even when clients never answer.
     */
    std::chrono::milliseconds close_timeout{1'000};

    /**
     * Keep-alive period: a client that sent nothing for half of it is
     * pinged; one that then sends nothing, not even the pong, for another
     * half is dropped (1008 "keep-alive timeout", transport close
     * "keepalive-timeout"). Every browser answers pings by itself, so a
     * live client is never dropped. 0 turns keep-alive off.
     */
    std::chrono::milliseconds idle_timeout{60'000};

    /** The read limit in effect with `hub_options`: read_message_max, or the hub's limit when that is 0. */
    std::size_t read_limit(const Options& hub_options) const noexcept {
        return read_message_max ? read_message_max : hub_options.limits.max_message_bytes;
    }
};

/** An HTTP request target ("/room/lobby?token=x") cut at the first '?'. Views into the target. */
struct RequestTarget {
    std::string_view path;   ///< "/room/lobby"
    std::string_view query;  ///< "token=x"; empty when there is none
};

/** Splits `target` into path and query (what Handshake::path and Handshake::query hold). */
RequestTarget split_target(std::string_view target) noexcept;

/** True when `options` would log a line at `level`: a sink is set and `level` is at or above the threshold. */
bool logs(const Options& options, LogLevel level) noexcept;

/** Gives `line` to the options' log sink when logs(options, level). */
void log(const Options& options, LogLevel level, std::string_view line);

}  // namespace switchboard

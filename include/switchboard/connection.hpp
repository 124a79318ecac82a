// Switchboard: the seam between the hub and a transport.
//
// An adapter (Boost.Beast, websocketpp, or your own) implements `Connection`
// for each accepted WebSocket and hands the hub what it learnt during the
// HTTP upgrade as a `Handshake`. See docs/adapters.md for the full contract.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard {

/**
 * One client's outgoing half, as the hub sees it.
 *
 * Contract for implementers:
 * - `send`, `offer` and `close` may be called from any thread, concurrently, and must
 *   not block: queue the work onto the transport (a strand, an event loop).
 * - The hub never calls them while holding one of its own locks, so an
 *   implementation may call back into the hub (the local participant does).
 * - Messages passed to `send` must reach the client in call order for calls
 *   made from one thread.
 * - Either may be called after the connection has gone; ignore it then.
 *
 * `send` takes a shared, immutable buffer so that a message fanned out to many
 * users is serialised once; keep the pointer until the write completes.
 */
class Connection {
public:
    virtual ~Connection() = default;

    /**
     * Queue one text message from the server itself (`login`, presence,
     * errors, host replies). A client too slow for these, i.e. whose queue
     * overflows with them, is closed (1008, transport close "slow-consumer").
     */
    virtual void send(std::shared_ptr<const std::string> text) = 0;

    /**
     * Queue one message routed from another user, or refuse it: return
     * false when the queue already holds more than its share for routed
     * messages (the bundled adapters: half of their bound). The hub then
     * answers the sender `recipient-busy` and this connection stays open,
     * so no user can get another one closed by sending it more than it can
     * take at once; only the server's own messages may fill the rest.
     * The default sends and accepts, for transports without a bound.
     */
    virtual bool offer(std::shared_ptr<const std::string> text) {
        send(std::move(text));
        return true;
    }

    /** Close the WebSocket with `code` (see close_code) and a short reason. */
    virtual void close(int code, std::string_view reason) = 0;
};

/** What the adapter saw in the HTTP upgrade request. */
struct Handshake {
    std::string path;                                          ///< request target without the query, e.g. "/room/lobby"
    std::string query;                                         ///< after '?', without it; empty when absent
    std::vector<std::pair<std::string, std::string>> headers;  ///< as received
    std::string remote_address;                                ///< peer IP address, e.g. "127.0.0.1"

    /** The first header named `name` (ASCII case-insensitive), or "" when absent. */
    std::string_view header(std::string_view name) const noexcept;

    /** The value of query parameter `name` (not percent-decoded), or "" when absent. */
    std::string_view query_param(std::string_view name) const noexcept;
};

}  // namespace switchboard

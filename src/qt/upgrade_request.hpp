// Internal to switchboard_qt: the upgrade request as the adapter peeks it
// from the socket, parsed and checked before the hub sees it. No Qt here.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <switchboard/connection.hpp>

namespace switchboard::qt::detail {

/** Longest request head (request line and headers) the adapter waits for: beyond it, 431. */
inline constexpr std::size_t max_request_head = 16 * 1024;

/** Where the head ends in `bytes` (the index past its "\r\n\r\n"), or 0 when it is not complete yet. */
std::size_t request_head_length(std::string_view bytes) noexcept;

/** An HTTP request head: what the hub's Handshake needs, and what the checks look at. */
struct UpgradeRequest {
    std::string method;
    std::string target;
    int version = 0;  ///< 10 for HTTP/1.0, 11 for HTTP/1.1
    std::vector<std::pair<std::string, std::string>> headers;
    /** The first header named `name` (ASCII case-insensitive), or "" when absent. */
    std::string_view header(std::string_view name) const noexcept;
};

/** An answer instead of the upgrade: the status and the reason (the body). */
struct Refusal {
    int status;
    std::string reason;
};

/** Parses a complete head (up to and with its blank line); a Refusal (400) when it is not HTTP. */
std::optional<Refusal> parse_request_head(std::string_view head, UpgradeRequest& request);

/**
 * The checks before the hub: a WebSocket upgrade (GET, HTTP/1.1,
 * Upgrade: websocket, Connection: upgrade, version 13: else 400, or 426
 * for another version), a Host header (RFC 9112 3.2) and a
 * Sec-WebSocket-Key of 16 bytes in base64 (RFC 6455 4.2.1): else 400.
 */
std::optional<Refusal> check_upgrade(const UpgradeRequest& request);

/** The hub's Handshake for `request` from `remote_address`. */
Handshake make_handshake(const UpgradeRequest& request, std::string remote_address);

/** A whole HTTP/1.1 response refusing an upgrade: `status`, a text body, and Connection: close. */
std::string refusal_response(const Refusal& refusal);

}  // namespace switchboard::qt::detail

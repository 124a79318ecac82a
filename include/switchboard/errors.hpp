// Switchboard: errors and close codes.
//
// Everything a client can do wrong is answered with an `Error`: a stable,
// machine-readable kebab-case `code` plus a `message` written for a human.
// The hub sends it to the offending connection as
//   {"type":"error","code":"unknown-recipient","message":"user 42 is not in this room"}
// and nobody else sees the offending message. The connection stays open.
#pragma once

#include <exception>
#include <string>
#include <string_view>

namespace switchboard {

/** An error a client (or the host application) can act on. */
struct Error {
    std::string code;     ///< stable kebab-case identifier, e.g. "invalid-json"
    std::string message;  ///< one human sentence, e.g. "user 42 is not in this room"
};

/**
 * `invalid-message` with the message of `e`, a failed conversion from
 * JSON, for the client (nlohmann's "[json.exception.type_error.302] "
 * prefix removed): what typed validators and host types answer.
 */
Error invalid_message(const std::exception& e);

/** The error codes the hub itself produces. User validators may add their own. */
namespace errc {
inline constexpr std::string_view invalid_json = "invalid-json";            ///< not JSON, bad UTF-8, too deep
inline constexpr std::string_view invalid_message = "invalid-message";      ///< JSON, but not a valid message
inline constexpr std::string_view unknown_type = "unknown-type";            ///< `type` is not registered
inline constexpr std::string_view unknown_recipient = "unknown-recipient";  ///< `to` is not in the room
inline constexpr std::string_view message_too_large = "message-too-large";  ///< over Limits::max_message_bytes
inline constexpr std::string_view rate_limited = "rate-limited";            ///< over the per-connection rate
inline constexpr std::string_view recipient_busy = "recipient-busy";        ///< `to` has too much queued already
inline constexpr std::string_view room_full = "room-full";                  ///< Limits::max_users_per_room reached
inline constexpr std::string_view too_many_rooms = "too-many-rooms";  ///< Limits::max_rooms, or max_rooms_per_address
inline constexpr std::string_view too_many_connections =
    "too-many-connections";  ///< Limits::max_connections_per_address reached
inline constexpr std::string_view cluster_unavailable =
    "cluster-unavailable";                                  ///< a cluster node cannot reach Redis at join time
inline constexpr std::string_view forbidden = "forbidden";  ///< a server-only type sent by a client
inline constexpr std::string_view internal_error = "internal-error";  ///< a host handler threw
inline constexpr std::string_view resume_failed =
    "resume-failed";  ///< a `resume` token that was unknown, used, expired or for another room: joined afresh
}  // namespace errc

/**
 * Why a transport closed a connection on its own, rather than the hub or
 * the client: what adapters pass to Hub::count_transport_close, and the
 * `reason` label of /metrics' transport close counter.
 */
namespace transport_close {
inline constexpr std::string_view slow_consumer = "slow-consumer";  ///< its queue overflowed with the server's messages
inline constexpr std::string_view binary_frame = "binary-frame";    ///< it sent a binary message (close 1003)
inline constexpr std::string_view message_too_big = "message-too-big";      ///< over the read limit (close 1009)
inline constexpr std::string_view keepalive_timeout = "keepalive-timeout";  ///< silent, even to pings
inline constexpr std::string_view too_many_http_connections =
    "too-many-http-connections";  ///< over the adapter's bound on connections still in HTTP
inline constexpr std::string_view too_many_handshakes =
    "too-many-handshakes";  ///< over the bound on upgrades in progress from one address
}  // namespace transport_close

/** WebSocket close codes used by the hub and the bundled adapters (RFC 6455 section 7.4). */
namespace close_code {
inline constexpr int normal = 1000;
inline constexpr int going_away = 1001;        ///< server shutting down
inline constexpr int unsupported_data = 1003;  ///< binary frame received
inline constexpr int policy_violation = 1008;  ///< e.g. too slow to read its messages
inline constexpr int message_too_big = 1009;   ///< frame over the transport's size limit
inline constexpr int internal_error = 1011;
inline constexpr int try_again_later = 1013;  ///< room full, too many rooms, cluster unavailable or fenced
/** The server application removed the user (Hub::disconnect's default); clients should not reconnect on their own. */
inline constexpr int removed = 4000;
}  // namespace close_code

}  // namespace switchboard

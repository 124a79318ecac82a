// Switchboard: limits, policies and logging for a Hub.
//
// Every limit has a safe default for a server on the open internet; raise
// them for a trusted LAN. All are enforced by the hub for every adapter.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

namespace detail {
class Directory;
}

struct Limits {
    /** Longest accepted text message, in bytes. Longer: `message-too-large`. */
    std::size_t max_message_bytes = 64 * 1024;
    /** Deepest accepted nesting of objects/arrays (the message itself is 1). Deeper: `invalid-json`. */
    int max_json_depth = 32;
    /** Users in one room, local participants included. The next one gets `room-full` and is closed. */
    std::size_t max_users_per_room = 256;
    /** Rooms with at least one user. A join that would open one more gets `too-many-rooms`. */
    std::size_t max_rooms = 10000;
    /**
     * Per-connection token bucket: `rate_per_second` messages a second on
     * average, bursts of up to `rate_burst`. Over it: `rate-limited`.
     * 0 per second disables the limit. The burst is sized for a newcomer
     * setting up a full mesh: one offer and a handful of candidates for
     * each user already in the room, all at once.
     */
    double rate_per_second = 200;
    double rate_burst = 2000;

    /**
     * Per client address (see Options::trusted_proxies for what the
     * address is): users connected at once, and rooms it has opened that
     * are still open. Over either, the join gets `too-many-connections` or
     * `too-many-rooms` and is closed (1013), so one address can neither
     * lock everybody else out of the server's rooms nor take all its
     * connections. Local participants are not counted. 0: no limit.
     */
    std::size_t max_connections_per_address = 200;
    std::size_t max_rooms_per_address = 50;

    /**
     * A user's public profile (see Verdict::profile), as compact JSON. A
     * larger one refuses the handshake (400).
     */
    std::size_t max_profile_bytes = 1024;
    /** A display name a client proposes (Options::allow_client_names), in code points after trimming. */
    std::size_t max_name_length = 64;

    /**
     * What a user whose socket was lost keeps of the messages routed to it
     * until it resumes (Options::resume_window). One more, and it is given
     * up: it leaves (the others get `user-left`) and the sender gets
     * `recipient-busy`.
     */
    std::size_t resume_max_messages = 256;
    std::size_t resume_max_bytes = 1024 * 1024;
};

/** What the hub does with a message whose `type` nobody registered. */
enum class UnknownTypePolicy {
    reject,  ///< answer `unknown-type` (default)
    route,   ///< route it by `to` like a built-in, the way the original seed server did
};

enum class LogLevel { trace, debug, info, warn, error, off };

/** "trace", "debug", ... "off". */
std::string_view to_string(LogLevel level) noexcept;
/** Parses the names above; returns false for anything else. */
bool parse_log_level(std::string_view name, LogLevel& out) noexcept;

/**
 * Receives every log line at or above Options::log_level, already formatted.
 * Called on whichever thread produced the line (any adapter thread), possibly
 * concurrently: make it thread-safe. Must not call back into the hub.
 */
using LogSink = std::function<void(LogLevel, std::string_view line)>;

/** A sink that writes "[level] line" to stderr, one write per line. */
LogSink stderr_log_sink();

/** One RTCIceServer, as a browser's RTCPeerConnection takes it. */
struct IceServer {
    /** e.g. "stun:stun.example.org:3478", "turn:turn.example.org:3478?transport=udp", "turns:..." */
    std::vector<std::string> urls;
    std::string username;    ///< TURN only; empty for STUN
    std::string credential;  ///< TURN only
};

/**
 * The ICE servers for one user's `login` (its `iceServers`), computed when
 * it joins, on the joining thread: fresh TURN credentials for that user, for
 * instance (switchboard::turn::rest_credentials in include/switchboard/turn.hpp).
 * An empty list leaves `iceServers` out of `login`.
 */
using IceServersHook = std::function<std::vector<IceServer>(std::uint64_t user_id, const std::string& room)>;

struct Options {
    Limits limits;
    UnknownTypePolicy unknown_types = UnknownTypePolicy::reject;
    /**
     * Allowed values of the Origin header at the WebSocket handshake, e.g.
     * "http://localhost:8080". Empty: any origin. A handshake without an
     * Origin header (a non-browser client) is always allowed.
     */
    std::vector<std::string> allowed_origins;
    /**
     * Addresses of reverse proxies in front of the server (exact IP
     * addresses, e.g. "127.0.0.1"). Only when the direct peer is one of
     * them is the client's address taken from the `Forwarded` header (RFC
     * 7239), or else `X-Forwarded-For`: the last address in it that is not
     * itself a trusted proxy. Otherwise such headers are ignored, since any
     * client can send them. Empty (default): the direct peer is the client.
     */
    std::vector<std::string> trusted_proxies;
    /**
     * Let a client propose its display name with the `name` query parameter
     * (percent-encoded UTF-8; spaces around it are trimmed; control
     * characters, an empty name or one over Limits::max_name_length refuse
     * the handshake with 400). It becomes the `name` of the user's profile
     * unless the authorize hook's profile (e.g. from a token) has one: the
     * server's word wins. Off by default: `name` is then ignored.
     */
    bool allow_client_names = false;
    /** ICE servers for each `login`. Empty (default): `login` has no `iceServers`, as on a LAN. */
    IceServersHook ice_servers;
    /**
     * How long a user whose socket was lost (Departure::lost: no close
     * handshake) stays in its room, invisible to the others, waiting to
     * resume with the token of its last `login`. Within it, a handshake with
     * `?resume=<token>` gets the same user ID back, the messages routed to it
     * meanwhile in order, and nobody hears of the blip. 0 turns resume off:
     * a lost socket leaves at once.
     */
    std::chrono::milliseconds resume_window{15000};
    /**
     * Where the hub keeps its users and rooms. Empty (default): in this
     * process. To share them with other processes, pass
     * `switchboard::redis::Cluster::directory()` (include/switchboard/redis.hpp):
     * users of one room may then connect to any node. The type is internal;
     * one directory serves one hub.
     */
    std::shared_ptr<detail::Directory> directory;
    /** Silent by default. */
    LogSink log_sink;
    LogLevel log_level = LogLevel::info;
};

}  // namespace switchboard

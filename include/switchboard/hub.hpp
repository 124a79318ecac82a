// Switchboard: the signalling hub.
//
// The hub owns the user registry and the rooms, validates every message and
// routes it. It knows nothing about sockets: an adapter turns each WebSocket
// into four calls, all thread-safe and callable from any number of threads:
//
//   1. during the HTTP upgrade:  auto admission = hub.admit(handshake);
//                                refuse with admission.status() if !admission
//   2. once upgraded:            auto session = hub.open(std::move(admission), connection);
//   3. for each text message:    hub.receive(*session, text);
//   4. when the socket is gone:  hub.leave(*session);
//
// Example (in-process, with any Connection implementation):
//   switchboard::Hub hub;
//   auto admission = hub.admit({"/room/lobby"});
//   auto session = hub.open(std::move(admission), my_connection);   // sends `login`
//   hub.receive(*session, R"({"type":"peer-connect","to":3,"desc":{...}})");
//
// Threads: unless a comment says otherwise, a callback runs on the thread of
// the adapter call that caused it, and may run on several threads at once.
// The hub never holds a lock of its own while it calls a Connection or a
// callback, so callbacks may call back into the hub.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <switchboard/connection.hpp>
#include <switchboard/errors.hpp>
#include <switchboard/message_view.hpp>
#include <switchboard/messages.hpp>
#include <switchboard/options.hpp>

namespace switchboard {

namespace detail {
class HubCore;
class Participant;
}  // namespace detail

/** The answer of an authorize hook: allow, or deny with a reason for the client. */
struct Verdict {
    bool allowed = true;
    std::string reason;
    /** The HTTP status of a refusal: 403 (forbidden) unless the hook says 401 (no or bad credentials). */
    int status = 403;
    /**
     * The user's public profile when allowed: a JSON object (e.g.
     * {"name":"Ann"}) that every user of the room sees in `login` and
     * `user-joined`, or null for an empty one. At most
     * Limits::max_profile_bytes as compact JSON; anything but an object or
     * null refuses the handshake (500: the hook's fault, not the client's).
     */
    nlohmann::json profile;
    static Verdict allow(nlohmann::json profile = nullptr) { return {true, {}, 403, std::move(profile)}; }
    static Verdict deny(std::string why, int status = 403) { return {false, std::move(why), status, nullptr}; }
};

/**
 * The outcome of `Hub::admit`: a ticket to `open` when accepted, otherwise
 * the HTTP status (403, 404) and reason the adapter must answer the upgrade with.
 */
class Admission {
public:
    explicit operator bool() const noexcept { return status_ == 101; }
    int status() const noexcept { return status_; }  ///< 101 when accepted
    const std::string& reason() const noexcept { return reason_; }
    const std::string& room() const noexcept { return room_; }  ///< "" is the default room
    const Handshake& handshake() const noexcept { return handshake_; }
    /** The client's address: the direct peer, or what a trusted proxy forwarded (Options::trusted_proxies). */
    const std::string& client_address() const noexcept { return client_address_; }
    /** The user's profile as compact JSON, always an object: the hook's, with the client's `name` if allowed. */
    const std::string& profile() const noexcept { return profile_; }

private:
    friend class Hub;
    friend class detail::HubCore;
    int status_ = 0;  // only admit() hands out an accepted one
    std::string reason_;
    std::string room_;
    std::string client_address_;
    std::string profile_ = "{}";
    Handshake handshake_;
};

/**
 * One joined user, owned jointly by the adapter and the hub. The adapter
 * keeps the pointer for the life of its socket and passes it back to
 * `receive` and `leave`.
 */
class Session {
public:
    virtual ~Session() = default;
    UserId id() const noexcept { return id_; }
    const std::string& room() const noexcept { return room_; }

protected:
    Session(UserId id, std::string room) : id_(id), room_(std::move(room)) {}

private:
    UserId id_;
    std::string room_;
};

/** How a session's socket ended (Hub::leave). */
enum class Departure {
    /** A close handshake, a protocol violation, or the server closed it: the user leaves now. */
    closed,
    /**
     * The connection broke: reset, end of stream without a close frame,
     * keep-alive timeout. The user may resume within Options::resume_window
     * (with resume off, it leaves now).
     */
    lost,
};

/** Passed to join/leave observers. */
struct UserEvent {
    UserId id;
    std::string room;
    std::string remote_address;  ///< the client's address (Admission::client_address); "" for a local participant
    std::string profile;         ///< the user's profile, compact JSON (Admission::profile)
};

/** A user of a room, as host control lists it (Hub::users). */
struct RoomUser {
    UserId id = 0;
    nlohmann::json profile;  ///< an object, `{}` when it has none
};

/** What became of a message the host sent to one user (Hub::send_to). */
enum class SendResult {
    sent,          ///< queued for the user (or, on a cluster, handed to its node)
    no_such_user,  ///< nobody has that ID
    busy,          ///< its queue already holds its share of messages; dropped
};

/** A snapshot of the hub's counters (see `Hub::counters`). */
struct Counters {
    std::uint64_t connections_open = 0;     ///< users joined right now
    std::uint64_t connections_total = 0;    ///< users ever joined
    std::uint64_t connections_refused = 0;  ///< admit() or open() said no
    std::uint64_t rooms_open = 0;           ///< rooms with at least one user
    std::uint64_t messages_received = 0;    ///< texts passed to receive()
    std::uint64_t messages_routed = 0;      ///< delivered to a recipient
    std::uint64_t messages_handled = 0;     ///< given to a host handler
    std::uint64_t bytes_routed = 0;
    std::map<std::string, std::uint64_t> errors;            ///< error replies sent, by code
    std::map<std::string, std::uint64_t> transport_closes;  ///< closes by an adapter, by reason (count_transport_close)
    std::uint64_t sessions_suspended = 0;  ///< users whose socket was lost, waiting to resume (counted as open)
    std::uint64_t sessions_resumed = 0;    ///< resumes that kept their user ID
};

/**
 * What a host handler gets: the sender, the parsed message, and a way to
 * answer. Valid only during the handler call.
 */
class Request {
public:
    UserId from() const noexcept { return from_; }
    const std::string& room() const noexcept { return room_; }
    const nlohmann::json& message() const noexcept { return message_; }

    /** Send `reply` (any JSON object with a `type`) to the sender. */
    void reply(const nlohmann::json& reply) const;
    /** Answer with an `error` message instead. */
    void fail(std::string_view code, std::string_view human_message) const;

private:
    friend class detail::HubCore;
    Request(detail::HubCore& hub, detail::Participant& sender, const nlohmann::json& message);
    detail::HubCore& hub_;
    detail::Participant& sender_;
    UserId from_;
    const std::string& room_;
    const nlohmann::json& message_;
};

/**
 * The host application taking part in a room as a user, without a socket.
 * Everything it sends goes through the same validation as a browser's.
 */
class LocalParticipant {
public:
    virtual ~LocalParticipant() = default;
    virtual UserId id() const noexcept = 0;
    /** Send a message (e.g. a PeerConnect with `to` set) as this user. */
    virtual void send(const nlohmann::json& message) = 0;
    /** Leave the room; the others get `user-left`. Called by the destructor too. */
    virtual void leave() = 0;
};

/**
 * Called with every message a local participant receives (its `login`,
 * routed messages with `from`, presence, errors). Runs on the thread that
 * routed the message.
 */
using LocalHandler = std::function<void(const nlohmann::json& message)>;

/** A validator for a routable type: nullopt accepts, an Error rejects. */
using Validator = std::function<std::optional<Error>(const MessageView&)>;

/** A handler for a type the host answers itself instead of routing. */
using HostHandler = std::function<void(const Request&)>;

class Hub {
public:
    explicit Hub(Options options = {});
    ~Hub();
    Hub(const Hub&) = delete;
    Hub& operator=(const Hub&) = delete;

    // ---- Extending the protocol (setup time: before the first admit/open) ----

    /**
     * Route messages of `type` by `to`, after `validate` accepts them. This
     * is how the hub registers peer-connect, peer-response and peer-candidate.
     * Throws std::logic_error if `type` is already registered or reserved
     * (login, user-joined, user-left, error), or once the hub has started.
     */
    void add_routable_type(std::string type, Validator validate = {});

    /** Route messages of `type`, accepting those that convert to `T` via from_json. */
    template <class T>
    void add_routable_type(std::string type) {
        add_routable_type(std::move(type), [](const MessageView& m) -> std::optional<Error> {
            try {
                (void)m.json().get<T>();
                return std::nullopt;
            } catch (const std::exception& e) {
                return invalid_message(e);
            }
        });
    }

    /**
     * Hand messages of `type` to `handler` instead of routing them. Throws
     * like add_routable_type. The handler runs on the receiving adapter thread.
     */
    void add_host_type(std::string type, HostHandler handler);

    /** Typed variant: `handler(request, message_as_T)`; a from_json failure answers `invalid-message`. */
    template <class T, class F>
    void add_host_type(std::string type, F handler) {
        add_host_type(std::move(type), [h = std::move(handler)](const Request& r) {
            std::optional<T> typed;
            try {
                typed = r.message().get<T>();
            } catch (const std::exception& e) {
                r.fail(errc::invalid_message, invalid_message(e).message);
                return;
            }
            h(r, *typed);
        });
    }

    // ---- Hooks (setup time) ----

    /** Decide whether a handshake may join. Runs inside admit(). Default: allow all. */
    void on_authorize(std::function<Verdict(const Handshake&)> hook);
    /** Observe users joining (after their `login` was queued). */
    void on_join(std::function<void(const UserEvent&)> hook);
    /**
     * Observe users leaving (after the others were told). A user whose
     * socket was lost leaves when its resume window ends, on the hub's own
     * timer thread; one that resumes never leaves.
     */
    void on_leave(std::function<void(const UserEvent&)> hook);

    // ---- The adapter side ----

    /**
     * Check a WebSocket upgrade request: the path selects the room ("/" is
     * the default room, "/room/<name>" a named one, anything else 404), the
     * Origin must be allowed (403), then the authorize hook runs (403).
     */
    Admission admit(Handshake handshake);

    /**
     * Join the admitted connection to its room: sends `login` to it and
     * `user-joined` to the others. Returns nullptr when the room is full or
     * too many rooms are open; the hub has then already sent the `error`
     * and asked the connection to close (1013).
     * Throws std::invalid_argument if `admission` was refused.
     *
     * Keep the session while the socket lives and release it after
     * `leave`: it holds your Connection, so keeping it longer keeps the
     * connection object alive too.
     */
    std::shared_ptr<Session> open(Admission admission, std::shared_ptr<Connection> connection);

    /** Handle one text message from the session's client. */
    void receive(Session& session, std::string_view text);

    /**
     * The session's socket is gone: say how (an adapter that cannot tell
     * passes `closed`, and its users never resume). Idempotent.
     */
    void leave(Session& session, Departure how = Departure::closed);

    /** Which ID a local participant takes. */
    enum class LocalId {
        host,   ///< host_user_id (0), as the original seed server did; one at a time
        fresh,  ///< a new ID, like a remote user
    };

    /**
     * Join the host application itself to `room` as a user, with `profile`
     * (a JSON object, as in Verdict::profile). `handler` gets its `login`
     * before this returns, then everything routed to it, on the thread that
     * routed it; if it throws, the exception is logged (error) and goes no
     * further: the sender is not affected.
     * Throws std::logic_error if LocalId::host is asked for while ID 0 is in
     * use, std::runtime_error if the room is full. Destroy every participant
     * before the hub.
     */
    std::shared_ptr<LocalParticipant> join_local(std::string room, LocalHandler handler, LocalId which = LocalId::host,
                                                 const nlohmann::json& profile = nlohmann::json::object());

    // ---- Host control ----
    //
    // Callable from any thread, once the hub is set up (not from inside a
    // Connection call). With a cluster directory (Options::directory) they
    // cover every node: they may then wait for Redis (at most twice the
    // cluster's timeout), so do not call them on a latency-critical thread.

    /** The rooms with at least one user, by name ("" is the default room). */
    std::vector<std::string> rooms() const;

    /** The users of `room`, ascending by ID, with their profiles (users waiting to resume included). */
    std::vector<RoomUser> users(const std::string& room) const;

    /**
     * Send `message`, from the server, to `user`. It must be a JSON object
     * with a string `type` that is not one of the server's own (login,
     * user-joined, user-left, error): std::invalid_argument otherwise. Like
     * a routed message, it is refused (`busy`) rather than let a slow reader
     * be closed for it, and kept for a user waiting to resume.
     */
    SendResult send_to(UserId user, const nlohmann::json& message);

    /** The same for every user of `room`; returns how many it was sent to. */
    std::size_t broadcast(const std::string& room, const nlohmann::json& message);

    /**
     * Close `user`'s connection with `code` (1000, or 3000-4999) and `reason`
     * (at most 123 bytes of UTF-8); the others get `user-left`, and the user
     * cannot resume. A user on this process leaves before this returns; one
     * on another node leaves once that node has closed it; one waiting
     * there to resume leaves as soon as that node hears of it.
     * False when nobody has that ID. std::invalid_argument for a bad code or reason.
     */
    bool disconnect(UserId user, int code = close_code::removed, std::string_view reason = "removed by the server");

    // ---- Introspection ----

    Counters counters() const;
    const Options& options() const noexcept;
    /** Count one connection that a transport closed for its own reasons (slow reader, oversized frame...). */
    void count_transport_close(std::string_view code);

private:
    std::unique_ptr<detail::HubCore> core_;
};

/** The room a request path selects: "" for "/", "name" for "/room/name"; nullopt for any other path. */
std::optional<std::string> room_from_path(std::string_view path);

/**
 * The client's address for a handshake from `handshake.remote_address`:
 * that address itself unless it is one of `trusted_proxies`, in which case
 * the one the proxies forwarded (see Options::trusted_proxies).
 */
std::string client_address(const Handshake& handshake, const std::vector<std::string>& trusted_proxies);

}  // namespace switchboard

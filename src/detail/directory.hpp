// The scale-out seam: who is where, and how a message reaches a user.
//
// The hub asks a Directory for IDs, joins and leaves, and hands it every
// delivery and presence announcement. LocalDirectory keeps everything in
// this process; switchboard::redis (src/redis) shares users and rooms
// between processes: it allocates IDs cluster-wide, keeps the room registry
// in Redis, and forwards deliveries to users connected elsewhere. A host
// picks one with Options::directory; adapters do not change.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "participant.hpp"

namespace switchboard::detail {

struct PresentUser {
    UserId id = 0;
    Profile profile;  ///< never null
};

struct JoinOutcome {
    /**
     * Set when the join was refused: errc::room_full, too_many_rooms,
     * too_many_connections, or cluster_unavailable (a shared registry that
     * cannot be reached).
     */
    std::optional<std::string_view> refused;
    /** With too_many_rooms: the limit was the address's own (Limits::max_rooms_per_address), not the server's. */
    bool per_address = false;
    /** The users already in the room, by ascending ID (for `login`). */
    std::vector<PresentUser> present;
};

enum class Presence { joined, left };

/** `{"type":"user-joined","userId":N,"profile":{...}}`, or `{"type":"user-left","userId":N}`. */
Payload presence_message(Presence what, UserId id, const Profile& profile);

/** What `login` tells a user besides the room. */
struct LoginExtras {
    std::string_view ice_servers;   ///< a JSON array, or "" for none
    std::string_view resume_token;  ///< "" when resume is off
    bool resumed = false;
};

/** `login` for `id` with `profile` in a room of `present` (the others, ascending). */
Payload login_message(UserId id, const Profile& profile, const std::vector<PresentUser>& present,
                      const LoginExtras& extras);

enum class Delivery {
    delivered,
    no_such_user,  ///< `to` is not in the room
    refused,       ///< its connection refused it (Connection::offer)
};

class Directory {
public:
    virtual ~Directory() = default;

    /**
     * A fresh ID: never handed out before in the life of the process (or
     * cluster). nullopt when a shared registry cannot be reached.
     */
    virtual std::optional<UserId> allocate_id() = 0;

    /**
     * Add `member` to its room, unless limits forbid it: the room's size,
     * the number of rooms, and for a member with a remote address, the
     * connections of that address and the rooms it opened (0: no limit).
     */
    virtual JoinOutcome join(const std::shared_ptr<Participant>& member, const Limits& limits) = 0;

    /** Remove `member` from its room. */
    virtual void leave(Participant& member) = 0;

    /** Is `id` joined anywhere? */
    virtual bool contains(UserId id) const = 0;

    /**
     * Offer a routed message to `to` if it is in `room` (Participant::offer).
     * Must not call a connection under a lock.
     */
    virtual Delivery deliver(const std::string& room, UserId to, const Payload& message) = 0;

    /**
     * Tell every other user of `member`'s room, exactly once, that it joined
     * (called after its `login` went out) or left (after leave()). A user
     * hears of a newcomer only if the newcomer was not in its own `login`.
     */
    virtual void announce(const Participant& member, Presence what) = 0;

    /**
     * Put `now` (the same user ID, room and profile, a new connection) in
     * `old`'s place, as if it had been there all along: nobody is told.
     * False if `old` is no longer joined here.
     */
    virtual bool replace(const std::shared_ptr<Participant>& old, const std::shared_ptr<Participant>& now) = 0;

    /** Everybody in `room` (on every node), by ascending ID. */
    virtual std::vector<PresentUser> members(const std::string& room) const = 0;

    /** The rooms with a user (on any node), by name. */
    virtual std::vector<std::string> room_names() const = 0;

    /** The member of this process with `id`, or nullptr (elsewhere in the cluster, or nobody). */
    virtual std::shared_ptr<Participant> local_member(UserId id) const = 0;

    /** Offer `message` to user `to` wherever it is joined (Participant::offer). */
    virtual Delivery deliver_to_user(UserId to, const Payload& message) = 0;

    /**
     * Ask the node that holds `id` (not this one) to close its connection
     * with `code` and `reason`; the user then leaves as after any close.
     * A user waiting there to resume leaves at once (on_removal). False
     * when no other node holds it.
     */
    virtual bool disconnect_elsewhere(UserId id, int code, std::string_view reason) = 0;

    // ---- Resume on another node (a cluster; the defaults are for one process) ----

    /** A user waiting to resume, handed from the node that held it to the one it came back to. */
    struct Claimed {
        Profile profile;
        std::vector<Payload> kept;  ///< routed to it while it was away, in order
    };
    /**
     * The hub's side of a claim from another node: take the user `id` out of
     * waiting if `secret` and `room` match (the kept messages with it), or nullopt.
     */
    using ClaimHandler =
        std::function<std::optional<Claimed>(UserId id, const std::string& room, std::string_view secret)>;

    /** Set once, by the hub, before it serves. */
    virtual void on_claim(ClaimHandler) {}

    /**
     * The hub's side of Hub::disconnect on another node for a user this
     * node holds waiting to resume: it leaves now and cannot resume. True
     * when it was waiting here.
     */
    using RemovalHandler = std::function<bool(UserId id)>;

    /** Set once, by the hub, before it serves (and cleared, waiting for a call in progress, when it goes). */
    virtual void on_removal(RemovalHandler) {}

    /**
     * Ask the node that holds user `id` for it: if that node has it waiting
     * to resume with `secret` in `room`, the user is now this node's (in
     * Redis), and its profile and kept messages come back. nullopt otherwise.
     */
    virtual std::optional<Claimed> claim_elsewhere(UserId, const std::string&, std::string_view) {
        return std::nullopt;
    }

    /**
     * Take in `member`, claimed by claim_elsewhere, as joined here: nobody is
     * told. Messages for it that arrived since the claim go to it now. False
     * if that failed (it should then leave).
     */
    virtual bool adopt(const std::shared_ptr<Participant>&) { return false; }

    /** Rooms with a user of this process. */
    virtual std::size_t room_count() const = 0;
};

std::shared_ptr<Directory> make_local_directory();

}  // namespace switchboard::detail

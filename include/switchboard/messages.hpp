// Switchboard: the built-in message types, as plain structs.
//
// Each message is a struct plus ADL `to_json` / `from_json`, exactly the way
// you define your own types (see examples/custom_message). docs/protocol.md is
// the wire contract; this header is its C++ mirror.
//
// Example:
//   nlohmann::json j = switchboard::messages::PeerCandidate{/*to=*/7, {}, candidate};
//   auto login = j.get<switchboard::messages::Login>();
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <switchboard/errors.hpp>
#include <switchboard/message_view.hpp>

namespace switchboard {

/** A user's ID: unique for the life of the process, never reused. */
using UserId = std::uint64_t;

/** The largest ID a JavaScript number holds exactly (2^53 - 1). */
inline constexpr UserId max_user_id = (UserId{1} << 53) - 1;

/** The ID the host application's local participant takes by default. */
inline constexpr UserId host_user_id = 0;

namespace messages {

/** An RTCSessionDescriptionInit: `type` is offer, answer, pranswer or rollback. */
struct SessionDescription {
    std::string type;
    std::string sdp;
};
void to_json(nlohmann::json& j, const SessionDescription& d);
void from_json(const nlohmann::json& j, SessionDescription& d);

/** Server -> new user, first message on every connection. */
struct Login {
    static constexpr const char* type = "login";
    UserId user_id = 0;
    std::vector<UserId> users;  ///< everybody already in the room, ascending
    /** This user's public profile, a JSON object (Verdict::profile); `{}` when it has none. */
    nlohmann::json profile = nlohmann::json::object();
    /** The profile of each user in `users`; on the wire an object keyed by the decimal ID. */
    std::map<UserId, nlohmann::json> profiles;
    /** RTCIceServer objects for RTCPeerConnection (Options::ice_servers); null when the server has none. */
    nlohmann::json ice_servers;
};
void to_json(nlohmann::json& j, const Login& m);
void from_json(const nlohmann::json& j, Login& m);

/**
 * Routed messages carry `to` when a client sends them and `from` when the
 * recipient gets them; the server sets `from` and drops `to`.
 */
struct PeerConnect {
    static constexpr const char* type = "peer-connect";
    std::optional<UserId> to;
    std::optional<UserId> from;
    SessionDescription desc;
};
void to_json(nlohmann::json& j, const PeerConnect& m);
void from_json(const nlohmann::json& j, PeerConnect& m);

struct PeerResponse {
    static constexpr const char* type = "peer-response";
    std::optional<UserId> to;
    std::optional<UserId> from;
    SessionDescription desc;
};
void to_json(nlohmann::json& j, const PeerResponse& m);
void from_json(const nlohmann::json& j, PeerResponse& m);

/** Trickle ICE. `candidate` is an RTCIceCandidateInit object, or null for end-of-candidates. */
struct PeerCandidate {
    static constexpr const char* type = "peer-candidate";
    std::optional<UserId> to;
    std::optional<UserId> from;
    nlohmann::json candidate;
};
void to_json(nlohmann::json& j, const PeerCandidate& m);
void from_json(const nlohmann::json& j, PeerCandidate& m);

/** Server -> others in the room when a user arrives. */
struct UserJoined {
    static constexpr const char* type = "user-joined";
    UserId user_id = 0;
    nlohmann::json profile = nlohmann::json::object();  ///< the newcomer's public profile
};
void to_json(nlohmann::json& j, const UserJoined& m);
void from_json(const nlohmann::json& j, UserJoined& m);

/** Server -> others in the room when a user goes. */
struct UserLeft {
    static constexpr const char* type = "user-left";
    UserId user_id = 0;
};
void to_json(nlohmann::json& j, const UserLeft& m);
void from_json(const nlohmann::json& j, UserLeft& m);

/** Server -> the sender of a message it could not accept. */
struct ErrorMessage {
    static constexpr const char* type = "error";
    std::string code;
    std::string message;
    std::optional<std::string> request_type;  ///< `request.type` on the wire, when known
    std::optional<UserId> request_to;         ///< `request.to` on the wire, when known
};
void to_json(nlohmann::json& j, const ErrorMessage& m);
void from_json(const nlohmann::json& j, ErrorMessage& m);

/**
 * Validators the hub registers for the built-in routable types, through the
 * same `Hub::add_routable_type` call users have. They read the view without
 * building a DOM. Each returns nullopt when the message is acceptable.
 */
std::optional<Error> validate_description_message(const MessageView& m);  // peer-connect, peer-response
std::optional<Error> validate_candidate_message(const MessageView& m);    // peer-candidate

}  // namespace messages
}  // namespace switchboard

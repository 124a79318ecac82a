// The texts a HostPeer translates between the browser's and GStreamer's
// spelling: SDP candidate lines, ICE server URLs, data channel frames.
// Pure functions, private to switchboard::peer (tests/peer checks them).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace switchboard::peer::detail {

/** A local ICE candidate as webrtcbin reports it: m-line index and "candidate:..." text. */
using Candidate = std::pair<unsigned, std::string>;

/** Whether a description carries candidates of its own (the seed's non-trickle style). */
bool has_candidates(std::string_view sdp);

/** The `a=mid:` of the m-line at `mline`, or "" when there is none. */
std::string mid_of(std::string_view sdp, unsigned mline);

/** The index of the m-line whose `a=mid:` is `mid`, if any. */
std::optional<unsigned> mline_of(std::string_view sdp, std::string_view mid);

/**
 * `sdp` with every candidate of `candidates` that it lacks added to its
 * m-line's section, followed there by `a=end-of-candidates`: the full
 * description a non-trickle peer sends.
 */
std::string with_candidates(std::string_view sdp, const std::vector<Candidate>& candidates);

/** What webrtcbin takes for a `login`'s iceServers. */
struct IceUris {
    std::string stun;               ///< "stun://host:port", the first STUN server only ("" for none)
    std::vector<std::string> turn;  ///< "turn(s)://user:password@host:port?transport=..."
};

/** Translates RTCIceServer objects (docs/protocol.md, `login`); entries it cannot use are skipped. */
IceUris ice_uris(const nlohmann::json& ice_servers);

/** The browser client's frames (clients/js/switchboard.js, "Data channel framing"). */
std::string ready_frame();
std::string message_frame(const nlohmann::json& data);

/** A frame received: `ready`, a `message` with its data, or something else (ignored). */
struct Frame {
    enum Kind { ready, message, unknown, not_json } kind = unknown;
    nlohmann::json data;
};
Frame parse_frame(std::string_view text);

}  // namespace switchboard::peer::detail

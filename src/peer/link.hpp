// One WebRTC connection to one other user of the room: a GStreamer pipeline
// holding one webrtcbin and its data channel. Private to switchboard::peer.
//
// Threads: a Link is made, used and destroyed on the loop thread only, and
// calls its LinkEvents there. webrtcbin's own threads only post to the
// loop (through a weak pointer, so nothing reaches a Link that is gone).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gst/gst.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <nlohmann/json.hpp>

#include "glib_loop.hpp"
#include "webrtc_text.hpp"

namespace switchboard::peer::detail {

/** What every Link of a HostPeer shares. */
struct LinkConfig {
    std::shared_ptr<Mailbox> mailbox;
    std::vector<std::string> local_addresses;
    IceUris ice;
    std::string channel_label;
    bool trickle = true;
    std::chrono::milliseconds gather_timeout{5000};
    std::size_t max_inbound_bytes = 1 << 20;
};

/** What a Link tells its owner, on the loop thread. */
struct LinkEvents {
    /** A signalling message for the hub: peer-connect, peer-response or peer-candidate, without `to`. */
    std::function<void(nlohmann::json message)> signal;
    /** The data channel is open (may be told more than once). */
    std::function<void()> channel_open;
    /** A text frame arrived on the data channel. */
    std::function<void(std::string text)> frame;
    /** The channel or connection closed or failed. Do not destroy the Link inside this call. */
    std::function<void(std::string why)> failed;
};

class Link : public std::enable_shared_from_this<Link> {
public:
    /** A pipeline in PLAYING; throws std::runtime_error when webrtcbin cannot be made or configured. */
    static std::shared_ptr<Link> create(const LinkConfig& config, LinkEvents events);
    Link(const LinkConfig& config, LinkEvents events);  // use create()
    ~Link();
    Link(const Link&) = delete;
    Link& operator=(const Link&) = delete;

    /** As the initiator: open the data channel and send our offer (peer-connect). */
    void offer();
    /** As the answerer: take `desc` (an offer) and send our answer (peer-response). */
    void answer(const nlohmann::json& desc);
    /** As the initiator: take the answer of peer-response. */
    void accept_answer(const nlohmann::json& desc);
    /** A peer-candidate's `candidate`: an RTCIceCandidateInit, or null (end of candidates). */
    void add_remote_candidate(const nlohmann::json& candidate);

    bool channel_is_open() const;
    /** Sends one text frame; false when the channel is not open or refused it. */
    bool send(const std::string& text);

private:
    struct Target;
    struct Inbound;
    static void receive(const std::shared_ptr<Inbound>& inbound, std::string frame);
    void start();
    std::shared_ptr<Target> target();
    void set_remote(const nlohmann::json& desc, GstWebRTCSDPType type);
    void on_remote_set(bool ok, const std::string& error);
    void on_local_created(std::shared_ptr<GstWebRTCSessionDescription> desc, const std::string& error);
    void on_local_candidate(unsigned mline, std::string candidate);
    void on_gathering_complete();
    void send_description();
    void attach_channel(GstWebRTCDataChannel* channel);
    void fail(const std::string& why);

    LinkConfig config_;
    LinkEvents events_;
    GstElement* pipeline_ = nullptr;
    GstElement* webrtc_ = nullptr;
    GstWebRTCDataChannel* channel_ = nullptr;
    bool initiator_ = false;
    bool trickle_ = true;
    bool remote_set_ = false;
    std::string remote_sdp_;
    std::vector<Candidate> pending_remote_;
    std::string local_type_;  // "offer" or "answer" once created
    std::string local_sdp_;   // as created
    bool description_sent_ = false;
    bool gathering_complete_ = false;
    std::vector<Candidate> local_candidates_;  // every one gathered
    std::vector<Candidate> unsent_candidates_;
    GSource* gather_timer_ = nullptr;
    bool failed_ = false;
};

/**
 * Initialises GStreamer once and checks that the elements a Link needs are
 * there; throws std::runtime_error naming what is missing.
 */
void require_gstreamer();

}  // namespace switchboard::peer::detail

// Switchboard: the host as a WebRTC peer (target switchboard::peer).
//
// A `HostPeer` joins a room of your Hub as a local participant (user 0 by
// default, as the original seed server's host did) and takes part in the
// room's mesh like any browser: it answers `peer-connect` with
// `peer-response`, starts connections itself when it is the newcomer,
// trickles `peer-candidate` and accepts the seed's non-trickle
// descriptions, and speaks the browser client's data channel framing
// (clients/js/switchboard.js). Application messages travel over the data
// channels, never through the hub. Data channels only, no media. Built on
// GStreamer's webrtcbin and libnice (docs/host-peer.md).
//
// Example (a bot that greets everybody and echoes what it is told):
//
//   #include <switchboard/peer.hpp>
//
//   int main() {
//       switchboard::Hub hub;
//       // ... put the hub on the network (switchboard::beast::Server, say) ...
//
//       switchboard::peer::PeerOptions options;
//       options.profile = {{"name", "Host"}};
//       switchboard::peer::HostPeer host(hub, options);
//       host.on_connected([&host](switchboard::UserId peer) {
//           host.send(peer, "welcome, user " + std::to_string(peer));
//       });
//       host.on_message([&host](switchboard::UserId from, const nlohmann::json& data) {
//           host.send(from, {{"echo", data}});
//       });
//       host.on_left([](switchboard::UserId peer, const std::string& why) {
//           std::cout << peer << " left: " << why << '\n';
//       });
//       host.join();            // now in the room as user 0
//       // ... run the server ...
//       host.leave();           // or let the destructor do it
//   }
//
// Threads: each HostPeer runs a GLib main loop on a thread of its own; it
// is hidden (you never see a GMainContext) and every callback runs on it,
// one at a time, in the order the events happened. Callbacks may call
// send(), send_all(), peers() and profile_of(), never leave() or the
// destructor. The on_* setters belong before join(); every other member
// function may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <switchboard/hub.hpp>

namespace switchboard::peer {

/** How a HostPeer joins and connects. */
struct PeerOptions {
    /** The room to join: "" is the default room. */
    std::string room;
    /** host: user 0 (one per hub at a time); fresh: a new ID, like a remote user. */
    Hub::LocalId id = Hub::LocalId::host;
    /** Its public profile, a JSON object: e.g. {"name":"Host","bot":true}. */
    nlohmann::json profile = nlohmann::json::object();
    /**
     * The only addresses ICE gathers host candidates on ("127.0.0.1" for a
     * loopback-only test). Empty: every interface libnice finds (which does
     * not include loopback).
     */
    std::vector<std::string> local_addresses;
    /** The data channel's label when this peer opens it: the browser client's default. */
    std::string channel_label = "switchboard";
    /** A connection whose channel is not ready by then fails (and may be started again, below). */
    std::chrono::milliseconds peer_timeout{20000};
    /**
     * A connection this peer started (it sent the offer: it joined after
     * that user) that fails, times out or later closes is started again
     * this many times, as the browser client's `peerRetries`: after
     * `retry_delay`, then twice that, and so on. Only the side that offered
     * starts again, so the two sides never race. The user's `user-left`, or
     * a new offer from it, cancels what is pending; connecting resets the count.
     */
    int peer_retries = 2;
    std::chrono::milliseconds retry_delay{1000};
    /**
     * A user's offers (peer-connect) beyond this many in a minute are
     * ignored, and logged: each one costs a new pipeline and DTLS
     * certificate on the peer's one thread, so a flood from one user would
     * keep the host from everybody else. A browser offers once, and again
     * at each of its retries. 0: no limit.
     */
    int max_offers_per_minute = 10;
    /**
     * The most memory one peer's messages may hold while they wait for the
     * peer's thread (on_message): a peer that sends faster than that is
     * cut off (on_left "closed"), as the hub cuts off a client that reads
     * too slowly, so that its flood neither grows memory nor holds up the
     * others for long. Each message counts its size plus 64 bytes.
     */
    std::size_t max_inbound_bytes = 1 << 20;
    /**
     * true: send ICE candidates one by one (peer-candidate), as the browser
     * client does by default. false: the seed's style, as the browser
     * client's `trickle: false`: wait for gathering and send one description
     * with the candidates inside, never a peer-candidate. Either way, what
     * the other side sends is accepted, and an offer with candidates inside
     * is answered in its own style.
     */
    bool trickle = true;
    /**
     * Sending a non-trickle description, the longest wait for our own
     * gathering before it goes out as it is.
     */
    std::chrono::milliseconds gather_timeout{5000};
};

/** The host application as one more WebRTC peer of a room. */
class HostPeer {
public:
    /**
     * Prepares the peer; nothing joins before join(). Throws
     * std::runtime_error when GStreamer lacks an element it needs (the
     * message names it and its Debian package). `hub` must outlive this.
     */
    explicit HostPeer(Hub& hub, PeerOptions options = {});
    /** Leaves (see leave()). */
    ~HostPeer();
    HostPeer(const HostPeer&) = delete;
    HostPeer& operator=(const HostPeer&) = delete;

    // ---- Callbacks: set them before join(); each runs on the peer's thread ----

    /** A peer's data channel is ready both ways: send() reaches it from now on. */
    void on_connected(std::function<void(UserId peer)> callback);
    /** A peer sent `data` (any JSON value: the browser client's send(data)). */
    void on_message(std::function<void(UserId from, const nlohmann::json& data)> callback);
    /**
     * A peer that had connected is gone: `why` is "left" (its user left
     * the room), "closed" (its data channel or connection closed or
     * failed, or it sent more than max_inbound_bytes ahead of on_message),
     * "replaced" (it sent a new offer; a new connection follows)
     * or "shutdown" (our leave()). A peer that never connected is dropped
     * silently, or with "timeout" once it did not connect in time and no
     * retry of ours follows (PeerOptions::peer_retries).
     */
    void on_left(std::function<void(UserId peer, const std::string& why)> callback);

    // ---- Taking part ----

    /**
     * Joins the room: on login, starts a connection to every user already
     * there; users arriving later start theirs. Throws like Hub::join_local
     * (std::logic_error if user 0 is taken, std::runtime_error if the room
     * is full) and std::logic_error when called twice.
     */
    void join();

    /** This peer's user ID (0 with LocalId::host); valid after join(). */
    UserId id() const;

    /**
     * Sends `data` to `to` over its data channel, as the browser client's
     * sendTo(). False when `to` is not connected now (nothing is queued).
     */
    bool send(UserId to, const nlohmann::json& data);
    /** Sends `data` to every connected peer; returns how many. */
    std::size_t send_all(const nlohmann::json& data);

    /** The peers whose data channel is ready, ascending. */
    std::vector<UserId> peers() const;
    /** The public profile of a user of the room (`{}` when unknown). */
    nlohmann::json profile_of(UserId user) const;

    /**
     * Closes every peer connection (on_left "shutdown" for the connected
     * ones), leaves the room (the others get `user-left`) and stops the
     * thread. Idempotent; on_left is the last callback. Throws
     * std::logic_error when called from a callback.
     */
    void leave();

private:
    class Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace switchboard::peer

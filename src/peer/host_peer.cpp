// HostPeer: the hub's local participant, one Link per other user, and the
// browser client's ready/message framing on top. Everything but the public
// entry points runs on the Loop's thread.
#include <switchboard/peer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include <gio/gio.h>

#include "../detail/log.hpp"
#include "glib_loop.hpp"
#include "link.hpp"
#include "webrtc_text.hpp"

namespace switchboard::peer {

using detail::Frame;
using detail::Link;
using detail::Mailbox;

/** Earliest candidates kept per user before its peer-connect, as the browser client keeps. */
constexpr std::size_t max_early_candidates = 64;

class HostPeer::Impl {
public:
    Impl(Hub& hub, PeerOptions options) : hub_(hub), options_(std::move(options)) {}

    // ---- public entry points, any thread ----

    void join();
    void leave();
    bool send(UserId to, const nlohmann::json& data);
    std::size_t send_all(const nlohmann::json& data);

    std::function<void(UserId)> connected_callback;
    std::function<void(UserId, const nlohmann::json&)> message_callback;
    std::function<void(UserId, const std::string&)> left_callback;

    Hub& hub_;
    const PeerOptions options_;
    std::atomic<UserId> id_{0};
    mutable std::mutex mutex_;          // guards the four below
    std::shared_ptr<Mailbox> mailbox_;  // while joined
    std::set<UserId> connected_;
    std::map<UserId, nlohmann::json> profiles_;
    bool joined_ = false;
    std::mutex lifecycle_mutex_;  // join() and leave() one at a time

private:
    /** One other user and our connection to it (loop thread). */
    struct Peer {
        std::shared_ptr<Link> link;
        std::uint64_t serial = 0;
        bool ready_sent = false;
        bool ready_received = false;
        bool connected = false;
        bool initiator = false;  // we sent the offer: ours to start again
        GSource* timer = nullptr;
    };

    /** A user's offers in the last minute, for PeerOptions::max_offers_per_minute. */
    struct Offers {
        std::deque<std::chrono::steady_clock::time_point> times;
        bool warned = false;  // since the last one allowed
    };

    /** An initiated connection's retries: how many were used, and the pending one. */
    struct Retry {
        int used = 0;
        GSource* timer = nullptr;
    };

    void on_signal(const nlohmann::json& message);
    void on_login(const nlohmann::json& message);
    Peer* start_peer(UserId id);
    void offer_to(UserId id);
    bool retry_later(UserId id);
    void cancel_retry(UserId id);
    bool offer_allowed(UserId from);
    Peer* find(UserId id, std::uint64_t serial);
    void drop(UserId id, const std::string& why);
    void on_channel_open(UserId id, std::uint64_t serial);
    void on_frame(UserId id, std::uint64_t serial, const std::string& text);
    void send_ready(Peer& peer);
    void maybe_connected(UserId id, Peer& peer);
    void shutdown();
    void deliver(UserId to, const std::string& frame);

    std::unique_ptr<detail::Loop> loop_;
    std::shared_ptr<LocalParticipant> participant_;
    detail::LinkConfig link_config_;
    std::map<UserId, Peer> peers_;
    std::map<UserId, std::vector<nlohmann::json>> early_candidates_;
    std::map<UserId, Retry> retries_;
    std::map<UserId, Offers> offers_;
    std::uint64_t next_serial_ = 1;
};

// ---- Impl: public entry points ----

void HostPeer::Impl::join() {
    std::lock_guard lifecycle(lifecycle_mutex_);
    {
        std::lock_guard lock(mutex_);
        if (joined_) throw std::logic_error("HostPeer::join called twice");
        joined_ = true;
    }
    loop_ = std::make_unique<detail::Loop>();
    link_config_.mailbox = loop_->mailbox();
    link_config_.local_addresses = options_.local_addresses;
    link_config_.channel_label = options_.channel_label;
    link_config_.trickle = options_.trickle;
    link_config_.gather_timeout = options_.gather_timeout;
    link_config_.max_inbound_bytes = options_.max_inbound_bytes;

    // Joined from the loop thread, so that `participant_` is set before the
    // posted `login` runs. Every hub message is posted, never handled inside
    // the hub's call: the hub may call us while we are sending to it.
    std::promise<void> joined;
    auto done = joined.get_future();
    loop_->mailbox()->post([this, &joined] {
        try {
            auto mailbox = loop_->mailbox();
            participant_ = hub_.join_local(
                options_.room,
                [mailbox, this](const nlohmann::json& message) {
                    mailbox->post([this, message] { on_signal(message); });
                },
                options_.id, options_.profile);
            id_ = participant_->id();
            joined.set_value();
        } catch (...) {
            joined.set_exception(std::current_exception());
        }
    });
    try {
        done.get();
        std::lock_guard lock(mutex_);
        mailbox_ = loop_->mailbox();
    } catch (...) {
        loop_->stop();
        loop_.reset();
        std::lock_guard lock(mutex_);
        joined_ = false;
        throw;
    }
}

void HostPeer::Impl::leave() {
    if (loop_ && loop_->on_loop_thread())  // before the lock: the thread is the one leave() would join
        throw std::logic_error("HostPeer::leave cannot be called from its own callbacks");
    std::lock_guard lifecycle(lifecycle_mutex_);
    if (!loop_) return;
    {
        std::lock_guard lock(mutex_);
        mailbox_.reset();
    }
    loop_->stop([this] { shutdown(); });
    loop_.reset();
    std::lock_guard lock(mutex_);
    connected_.clear();
}

bool HostPeer::Impl::send(UserId to, const nlohmann::json& data) {
    std::shared_ptr<Mailbox> mailbox;
    {
        std::lock_guard lock(mutex_);
        if (connected_.count(to) == 0 || !mailbox_) return false;
        mailbox = mailbox_;
    }
    auto frame = detail::message_frame(data);
    mailbox->post([this, to, frame] { deliver(to, frame); });
    return true;
}

std::size_t HostPeer::Impl::send_all(const nlohmann::json& data) {
    std::vector<UserId> targets;
    std::shared_ptr<Mailbox> mailbox;
    {
        std::lock_guard lock(mutex_);
        if (!mailbox_) return 0;
        mailbox = mailbox_;
        targets.assign(connected_.begin(), connected_.end());
    }
    if (targets.empty()) return 0;
    auto frame = detail::message_frame(data);
    mailbox->post([this, targets, frame] {
        for (auto to : targets)
            deliver(to, frame);
    });
    return targets.size();
}

// ---- Impl: the loop thread ----

void HostPeer::Impl::deliver(UserId to, const std::string& frame) {
    auto it = peers_.find(to);
    if (it == peers_.end() || !it->second.connected) return;
    if (!it->second.link->send(frame))
        switchboard::detail::log(hub_.options(), LogLevel::warn, "host peer: a message to {} was not sent", to);
}

void HostPeer::Impl::on_signal(const nlohmann::json& message) {
    if (!participant_) return;  // after shutdown
    const std::string type = message.value("type", "");
    UserId from = 0;
    bool has_from = false;
    if (auto f = message.find("from"); f != message.end() && f->is_number_unsigned()) {
        from = f->get<UserId>();
        has_from = true;
    }
    if (type == "login") {
        on_login(message);
    } else if (type == "user-joined") {
        auto user = message.find("userId");
        if (user == message.end() || !user->is_number_unsigned()) return;
        auto profile = message.find("profile");
        std::lock_guard lock(mutex_);
        profiles_[user->get<UserId>()] =
            profile != message.end() && profile->is_object() ? *profile : nlohmann::json::object();
    } else if (type == "user-left") {
        auto user = message.find("userId");
        if (user == message.end() || !user->is_number_unsigned()) return;
        UserId id = user->get<UserId>();
        early_candidates_.erase(id);
        offers_.erase(id);
        cancel_retry(id);
        drop(id, "left");
        std::lock_guard lock(mutex_);
        profiles_.erase(id);
    } else if (type == "peer-connect" && has_from) {
        auto desc = message.find("desc");
        if (desc == message.end() || !desc->is_object() || !offer_allowed(from)) return;
        cancel_retry(from);  // it started again itself
        Peer* peer = start_peer(from);
        if (!peer) return;
        auto link = peer->link;
        link->answer(*desc);
        auto early = early_candidates_.find(from);
        if (early != early_candidates_.end()) {
            for (const auto& candidate : early->second)
                link->add_remote_candidate(candidate);
            early_candidates_.erase(early);
        }
    } else if (type == "peer-response" && has_from) {
        auto desc = message.find("desc");
        auto it = peers_.find(from);
        if (it != peers_.end() && desc != message.end() && desc->is_object()) it->second.link->accept_answer(*desc);
    } else if (type == "peer-candidate" && has_from) {
        auto candidate = message.find("candidate");
        if (candidate == message.end()) return;
        auto it = peers_.find(from);
        if (it != peers_.end()) {
            it->second.link->add_remote_candidate(*candidate);
        } else {
            auto& list = early_candidates_[from];
            if (list.size() < max_early_candidates) list.push_back(*candidate);
        }
    } else if (type == "error") {
        switchboard::detail::log(hub_.options(), LogLevel::warn, "host peer {}: the hub refused a message: {}",
                                 id_.load(), message.value("message", ""));
    }
}

void HostPeer::Impl::on_login(const nlohmann::json& message) {
    if (auto servers = message.find("iceServers"); servers != message.end())
        link_config_.ice = detail::ice_uris(*servers);
    std::vector<UserId> users;
    if (auto list = message.find("users"); list != message.end() && list->is_array())
        for (const auto& user : *list)
            if (user.is_number_unsigned() && user.get<UserId>() != id_) users.push_back(user.get<UserId>());
    {
        std::lock_guard lock(mutex_);
        auto profiles = message.find("profiles");
        for (auto id : users) {
            nlohmann::json profile = nlohmann::json::object();
            if (profiles != message.end() && profiles->is_object()) {
                auto p = profiles->find(std::to_string(id));
                if (p != profiles->end() && p->is_object()) profile = *p;
            }
            profiles_[id] = std::move(profile);
        }
    }
    // The newcomer starts a connection to everybody already there.
    for (auto id : users)
        offer_to(id);
}

void HostPeer::Impl::offer_to(UserId id) {
    if (Peer* peer = start_peer(id)) {
        peer->initiator = true;
        peer->link->offer();
    }
}

bool HostPeer::Impl::retry_later(UserId id) {
    auto& retry = retries_[id];
    if (retry.used >= options_.peer_retries || !participant_) {
        retries_.erase(id);
        return false;
    }
    const auto delay = options_.retry_delay * (1 << std::min(retry.used, 16));
    ++retry.used;
    switchboard::detail::log(hub_.options(), LogLevel::debug, "host peer: starting again with {} in {} ms ({} of {})",
                             id, delay.count(), retry.used, options_.peer_retries);
    Mailbox::cancel(retry.timer);
    retry.timer = link_config_.mailbox->post_after(delay, [this, id] {
        auto it = retries_.find(id);
        if (it == retries_.end()) return;
        Mailbox::cancel(it->second.timer);  // fired: only our reference is left
        it->second.timer = nullptr;
        if (participant_ && peers_.count(id) == 0) offer_to(id);
    });
    return true;
}

bool HostPeer::Impl::offer_allowed(UserId from) {
    if (options_.max_offers_per_minute == 0) return true;
    const auto now = std::chrono::steady_clock::now();
    auto& offers = offers_[from];
    while (!offers.times.empty() && now - offers.times.front() >= std::chrono::minutes(1))
        offers.times.pop_front();
    if (offers.times.size() < static_cast<std::size_t>(options_.max_offers_per_minute)) {
        offers.times.push_back(now);
        offers.warned = false;
        return true;
    }
    if (!offers.warned)  // once per flood
        switchboard::detail::log(hub_.options(), LogLevel::warn,
                                 "host peer: ignores the offers of {}: more than {} in a minute", from,
                                 options_.max_offers_per_minute);
    offers.warned = true;
    return false;
}

void HostPeer::Impl::cancel_retry(UserId id) {
    auto it = retries_.find(id);
    if (it == retries_.end()) return;
    Mailbox::cancel(it->second.timer);
    retries_.erase(it);
}

HostPeer::Impl::Peer* HostPeer::Impl::start_peer(UserId id) {
    // A new offer from a user replaces what we had with it (it started again).
    if (peers_.count(id)) drop(id, "replaced");
    const std::uint64_t serial = next_serial_++;
    detail::LinkEvents events;
    events.signal = [this, id](nlohmann::json message) {
        message["to"] = id;
        participant_->send(message);
    };
    events.channel_open = [this, id, serial] { on_channel_open(id, serial); };
    events.frame = [this, id, serial](std::string text) { on_frame(id, serial, text); };
    events.failed = [this, id, serial](std::string why) {
        switchboard::detail::log(hub_.options(), LogLevel::debug, "host peer: connection to {}: {}", id, why);
        // Not inside the Link's own call: dropping destroys it.
        link_config_.mailbox->post([this, id, serial] {
            if (find(id, serial)) drop(id, "closed");
        });
    };
    Peer peer;
    peer.serial = serial;
    try {
        peer.link = Link::create(link_config_, std::move(events));
    } catch (const std::exception& e) {
        switchboard::detail::log(hub_.options(), LogLevel::error, "host peer: no connection to {}: {}", id, e.what());
        return nullptr;
    }
    peer.timer = link_config_.mailbox->post_after(options_.peer_timeout, [this, id, serial] {
        Peer* p = find(id, serial);
        if (!p) return;
        Mailbox::cancel(p->timer);  // fired: only our reference is left
        p->timer = nullptr;
        if (!p->connected) drop(id, "timeout");
    });
    return &(peers_[id] = std::move(peer));
}

HostPeer::Impl::Peer* HostPeer::Impl::find(UserId id, std::uint64_t serial) {
    auto it = peers_.find(id);
    return it != peers_.end() && it->second.serial == serial ? &it->second : nullptr;
}

void HostPeer::Impl::drop(UserId id, const std::string& why) {
    auto it = peers_.find(id);
    if (it == peers_.end()) return;
    Peer peer = std::move(it->second);
    peers_.erase(it);
    Mailbox::cancel(peer.timer);
    peer.link.reset();  // closes the connection
    const bool retrying = peer.initiator && (why == "closed" || why == "timeout") && retry_later(id);
    if (peer.connected) {
        {
            std::lock_guard lock(mutex_);
            connected_.erase(id);
        }
        if (left_callback) left_callback(id, why);
    } else if (why == "timeout" && !retrying && left_callback) {
        left_callback(id, why);
    }
}

void HostPeer::Impl::on_channel_open(UserId id, std::uint64_t serial) {
    Peer* peer = find(id, serial);
    if (!peer) return;
    send_ready(*peer);
    maybe_connected(id, *peer);
}

void HostPeer::Impl::on_frame(UserId id, std::uint64_t serial, const std::string& text) {
    Peer* peer = find(id, serial);
    if (!peer) return;
    auto frame = detail::parse_frame(text);
    if (frame.kind == Frame::not_json) {
        switchboard::detail::log(hub_.options(), LogLevel::warn, "host peer: {} sent a frame that is not JSON", id);
    } else if (frame.kind == Frame::ready) {
        if (peer->ready_received) return;
        peer->ready_received = true;
        // Answer the first ready: ours may have gone out too early and been lost.
        peer->ready_sent = false;
        send_ready(*peer);
        maybe_connected(id, *peer);
    } else if (frame.kind == Frame::message) {
        if (!peer->ready_received) {
            peer->ready_received = true;
            maybe_connected(id, *peer);
        }
        if (message_callback && find(id, serial)) message_callback(id, frame.data);
    }
}

void HostPeer::Impl::send_ready(Peer& peer) {
    if (peer.ready_sent) return;
    peer.ready_sent = peer.link->send(detail::ready_frame());
}

void HostPeer::Impl::maybe_connected(UserId id, Peer& peer) {
    if (peer.connected || !peer.ready_received || !peer.link->channel_is_open()) return;
    peer.connected = true;
    Mailbox::cancel(peer.timer);
    peer.timer = nullptr;
    cancel_retry(id);  // a later failure starts counting afresh
    {
        std::lock_guard lock(mutex_);
        connected_.insert(id);
    }
    if (connected_callback) connected_callback(id);
}

void HostPeer::Impl::shutdown() {
    while (!retries_.empty())
        cancel_retry(retries_.begin()->first);
    while (!peers_.empty())
        drop(peers_.begin()->first, "shutdown");
    if (participant_) participant_->leave();
    participant_.reset();
}

// ---- HostPeer ----

HostPeer::HostPeer(Hub& hub, PeerOptions options) {
    detail::require_gstreamer();
    if (!options.profile.is_object()) throw std::invalid_argument("a host peer's profile must be a JSON object");
    if (options.peer_retries < 0) throw std::invalid_argument("a host peer's peer_retries must not be negative");
    if (options.max_offers_per_minute < 0)
        throw std::invalid_argument("a host peer's max_offers_per_minute must not be negative");
    if (options.retry_delay.count() < 0) throw std::invalid_argument("a host peer's retry_delay must not be negative");
    for (const auto& address : options.local_addresses) {
        GInetAddress* parsed = g_inet_address_new_from_string(address.c_str());
        if (!parsed) throw std::invalid_argument("'" + address + "' is not an IP address");
        g_object_unref(parsed);
    }
    impl_ = std::make_shared<Impl>(hub, std::move(options));
}

HostPeer::~HostPeer() {
    try {
        impl_->leave();
    } catch (const std::exception& e) {
        switchboard::detail::log(impl_->hub_.options(), LogLevel::error, "host peer: {}", e.what());
    }
}

void HostPeer::on_connected(std::function<void(UserId)> callback) {
    impl_->connected_callback = std::move(callback);
}
void HostPeer::on_message(std::function<void(UserId, const nlohmann::json&)> callback) {
    impl_->message_callback = std::move(callback);
}
void HostPeer::on_left(std::function<void(UserId, const std::string&)> callback) {
    impl_->left_callback = std::move(callback);
}

void HostPeer::join() {
    impl_->join();
}
void HostPeer::leave() {
    impl_->leave();
}
UserId HostPeer::id() const {
    return impl_->id_.load();
}
bool HostPeer::send(UserId to, const nlohmann::json& data) {
    return impl_->send(to, data);
}
std::size_t HostPeer::send_all(const nlohmann::json& data) {
    return impl_->send_all(data);
}

std::vector<UserId> HostPeer::peers() const {
    std::lock_guard lock(impl_->mutex_);
    return {impl_->connected_.begin(), impl_->connected_.end()};
}

nlohmann::json HostPeer::profile_of(UserId user) const {
    std::lock_guard lock(impl_->mutex_);
    auto it = impl_->profiles_.find(user);
    return it == impl_->profiles_.end() ? nlohmann::json::object() : it->second;
}

}  // namespace switchboard::peer

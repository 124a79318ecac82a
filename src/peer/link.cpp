#include "link.hpp"

#include <atomic>
#include <mutex>
#include <stdexcept>

#include <gio/gio.h>
#include <gst/sdp/sdp.h>
#include <nice/agent.h>

namespace switchboard::peer::detail {

/** What webrtcbin's threads hold: a way to post to the loop, and the Link if it still exists. */
struct Link::Target {
    std::shared_ptr<Mailbox> mailbox;
    std::weak_ptr<Link> link;
    void post(std::function<void(Link&)> work) const {
        mailbox->post([weak = link, work = std::move(work)] {
            if (auto link = weak.lock()) work(*link);
        });
    }
};

/**
 * A channel's messages on their way to the loop: what they hold, against
 * LinkConfig::max_inbound_bytes. Shared by webrtcbin's thread, which adds,
 * and the loop, which takes away.
 */
struct Link::Inbound {
    Target target;
    std::size_t limit = 0;
    std::atomic<std::size_t> bytes{0};
    std::atomic<bool> cut{false};  // over the limit once: nothing more is delivered
};

namespace {

/** What a message costs against max_inbound_bytes beyond its text. */
constexpr std::size_t inbound_overhead = 64;

using TargetPtr = std::shared_ptr<const void>;

/** A heap copy of `target` for one GLib callback registration, freed by GLib. */
template <class T>
gpointer hold(const std::shared_ptr<T>& target) {
    return new std::shared_ptr<T>(target);
}
template <class T>
void release(gpointer data, GClosure* = nullptr) {
    delete static_cast<std::shared_ptr<T>*>(data);
}
template <class T>
const T& held(gpointer data) {
    return **static_cast<std::shared_ptr<T>*>(data);
}
template <class T>
const std::shared_ptr<T>& holder(gpointer data) {
    return *static_cast<std::shared_ptr<T>*>(data);
}

template <class T, class F>
void connect(gpointer instance, const char* signal, F callback, const std::shared_ptr<T>& target) {
    g_signal_connect_data(instance, signal, G_CALLBACK(callback), hold(target),
                          reinterpret_cast<GClosureNotify>(&release<T>), GConnectFlags(0));
}

std::string error_text(const GError* error, const char* fallback) {
    return error && error->message ? error->message : fallback;
}

/** The error of a replied promise, or "" when it succeeded. */
std::string promise_error(GstPromise* promise) {
    if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) return "the promise was not answered";
    const GstStructure* reply = gst_promise_get_reply(promise);
    if (!reply || !gst_structure_has_field(reply, "error")) return {};
    GError* error = nullptr;
    gst_structure_get(reply, "error", G_TYPE_ERROR, &error, nullptr);
    std::string text = error_text(error, "failed");
    if (error) g_error_free(error);
    return text;
}

std::string sdp_text(const GstWebRTCSessionDescription* desc) {
    if (!desc || !desc->sdp) return {};
    gchar* text = gst_sdp_message_as_text(desc->sdp);
    std::string out = text ? text : "";
    g_free(text);
    return out;
}

std::shared_ptr<GstWebRTCSessionDescription> owned(GstWebRTCSessionDescription* desc) {
    return {desc, [](GstWebRTCSessionDescription* d) {
                if (d) gst_webrtc_session_description_free(d);
            }};
}

}  // namespace

void require_gstreamer() {
    static std::once_flag once;
    static std::string failure;
    std::call_once(once, [] {
        GError* error = nullptr;
        if (!gst_init_check(nullptr, nullptr, &error)) {
            failure = "GStreamer could not start: " + error_text(error, "unknown error");
            if (error) g_error_free(error);
            return;
        }
        struct Needed {
            const char* element;
            const char* package;
        };
        for (auto [element, package] :
             {Needed{"webrtcbin", "gstreamer1.0-plugins-bad"}, Needed{"nicesrc", "gstreamer1.0-nice"},
              Needed{"dtlsenc", "gstreamer1.0-plugins-bad"}, Needed{"sctpenc", "gstreamer1.0-plugins-bad"}}) {
            GstElementFactory* factory = gst_element_factory_find(element);
            if (!factory) {
                failure =
                    std::string("the GStreamer element ") + element + " is missing (Debian package " + package + ")";
                return;
            }
            gst_object_unref(factory);
        }
    });
    if (!failure.empty()) throw std::runtime_error(failure);
}

std::shared_ptr<Link> Link::create(const LinkConfig& config, LinkEvents events) {
    auto link = std::make_shared<Link>(config, std::move(events));
    link->start();
    return link;
}

Link::Link(const LinkConfig& config, LinkEvents events) : config_(config), events_(std::move(events)) {
    trickle_ = config_.trickle;
}

Link::~Link() {
    Mailbox::cancel(gather_timer_);
    if (pipeline_) {
        // Joins webrtcbin's threads; what they post now finds no Link.
        gst_element_set_state(pipeline_, GST_STATE_NULL);
    }
    if (channel_) g_object_unref(channel_);
    if (pipeline_) gst_object_unref(pipeline_);
}

std::shared_ptr<Link::Target> Link::target() {
    return std::make_shared<Target>(Target{config_.mailbox, weak_from_this()});
}

void Link::start() {
    pipeline_ = gst_pipeline_new(nullptr);
    webrtc_ = gst_element_factory_make("webrtcbin", nullptr);
    if (!pipeline_ || !webrtc_) throw std::runtime_error("webrtcbin could not be made");
    gst_bin_add(GST_BIN(pipeline_), webrtc_);
    g_object_set(webrtc_, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, nullptr);
    if (!config_.ice.stun.empty()) g_object_set(webrtc_, "stun-server", config_.ice.stun.c_str(), nullptr);
    for (const auto& turn : config_.ice.turn) {
        gboolean added = FALSE;
        g_signal_emit_by_name(webrtc_, "add-turn-server", turn.c_str(), &added);
    }
    GObject* ice = nullptr;
    g_object_get(webrtc_, "ice-agent", &ice, nullptr);
    GObject* agent = nullptr;
    if (ice && g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent"))
        g_object_get(ice, "agent", &agent, nullptr);
    if (ice) g_object_unref(ice);
    if (agent && !NICE_IS_AGENT(agent)) {
        g_object_unref(agent);
        agent = nullptr;
    }
    // No UPnP: libnice would otherwise look for a router (SSDP multicast) to open ports on.
    if (agent) g_object_set(agent, "upnp", FALSE, nullptr);
    if (!config_.local_addresses.empty()) {
        if (!agent)
            throw std::runtime_error("webrtcbin's ICE agent is not libnice's: local_addresses cannot be applied");
        for (const auto& address : config_.local_addresses) {
            NiceAddress nice;
            nice_address_init(&nice);
            if (!nice_address_set_from_string(&nice, address.c_str()) ||
                !nice_agent_add_local_address(NICE_AGENT(agent), &nice)) {
                g_object_unref(agent);
                throw std::runtime_error("'" + address + "' is not a local address ICE can use");
            }
        }
    }
    if (agent) g_object_unref(agent);

    auto t = target();
    GstBus* bus = gst_pipeline_get_bus(GST_PIPELINE(pipeline_));
    gst_bus_set_sync_handler(
        bus,
        [](GstBus*, GstMessage* message, gpointer data) -> GstBusSyncReply {
            if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
                GError* error = nullptr;
                gst_message_parse_error(message, &error, nullptr);
                std::string why = "pipeline error: " + error_text(error, "unknown");
                if (error) g_error_free(error);
                held<Target>(data).post([why](Link& link) { link.fail(why); });
            }
            return GST_BUS_DROP;
        },
        hold(t), [](gpointer data) { release<Target>(data); });
    gst_object_unref(bus);

    connect(
        webrtc_, "on-ice-candidate",
        +[](GstElement*, guint mline, gchar* candidate, gpointer data) {
            std::string text = candidate ? candidate : "";
            held<Target>(data).post([mline, text](Link& link) { link.on_local_candidate(mline, text); });
        },
        t);
    connect(
        webrtc_, "notify::ice-gathering-state",
        +[](GObject* webrtc, GParamSpec*, gpointer data) {
            GstWebRTCICEGatheringState state = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
            g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
            if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
                held<Target>(data).post([](Link& link) { link.on_gathering_complete(); });
        },
        t);
    connect(
        webrtc_, "notify::connection-state",
        +[](GObject* webrtc, GParamSpec*, gpointer data) {
            GstWebRTCPeerConnectionState state = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
            g_object_get(webrtc, "connection-state", &state, nullptr);
            if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
                held<Target>(data).post([](Link& link) { link.fail("the connection failed"); });
        },
        t);
    connect(
        webrtc_, "on-data-channel",
        +[](GstElement*, GstWebRTCDataChannel* channel, gpointer data) {
            g_object_ref(channel);
            held<Target>(data).post([channel](Link& link) {
                link.attach_channel(channel);
                g_object_unref(channel);
            });
        },
        t);

    if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        throw std::runtime_error("webrtcbin would not start");
}

void Link::offer() {
    initiator_ = true;
    GstStructure* options = gst_structure_new("application/data-channel", "ordered", G_TYPE_BOOLEAN, TRUE, nullptr);
    GstWebRTCDataChannel* channel = nullptr;
    g_signal_emit_by_name(webrtc_, "create-data-channel", config_.channel_label.c_str(), options, &channel);
    gst_structure_free(options);
    if (!channel) {
        fail("webrtcbin made no data channel");
        return;
    }
    attach_channel(channel);
    g_object_unref(channel);

    GstPromise* promise = gst_promise_new_with_change_func(
        [](GstPromise* p, gpointer data) {
            auto error = promise_error(p);
            GstWebRTCSessionDescription* desc = nullptr;
            if (error.empty()) {
                gst_structure_get(gst_promise_get_reply(p), "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc,
                                  nullptr);
                if (!desc) error = "webrtcbin made no offer";
            }
            auto shared = owned(desc);
            held<Target>(data).post([shared, error](Link& link) { link.on_local_created(shared, error); });
        },
        hold(target()), [](gpointer data) { release<Target>(data); });
    g_signal_emit_by_name(webrtc_, "create-offer", nullptr, promise);
    gst_promise_unref(promise);
}

void Link::answer(const nlohmann::json& desc) {
    initiator_ = false;
    set_remote(desc, GST_WEBRTC_SDP_TYPE_OFFER);
}

void Link::accept_answer(const nlohmann::json& desc) {
    if (!initiator_ || remote_set_ || !remote_sdp_.empty()) return;
    set_remote(desc, GST_WEBRTC_SDP_TYPE_ANSWER);
}

void Link::set_remote(const nlohmann::json& desc, GstWebRTCSDPType type) {
    auto sdp = desc.find("sdp");
    auto kind = desc.find("type");
    const char* expected = type == GST_WEBRTC_SDP_TYPE_OFFER ? "offer" : "answer";
    if (sdp == desc.end() || !sdp->is_string() || kind == desc.end() || *kind != expected) {
        fail(std::string("the description is not an ") + expected);
        return;
    }
    remote_sdp_ = sdp->get<std::string>();
    // A seed-era peer sends its candidates inside and may read none of ours
    // apart from those in our description: answer it the same way.
    if (type == GST_WEBRTC_SDP_TYPE_OFFER && has_candidates(remote_sdp_)) trickle_ = false;
    GstSDPMessage* message = nullptr;
    gst_sdp_message_new_from_text(remote_sdp_.c_str(), &message);
    if (!message) {
        fail("the remote SDP does not parse");
        return;
    }
    GstWebRTCSessionDescription* remote = gst_webrtc_session_description_new(type, message);
    GstPromise* promise = gst_promise_new_with_change_func(
        [](GstPromise* p, gpointer data) {
            auto error = promise_error(p);
            held<Target>(data).post([error](Link& link) { link.on_remote_set(error.empty(), error); });
        },
        hold(target()), [](gpointer data) { release<Target>(data); });
    g_signal_emit_by_name(webrtc_, "set-remote-description", remote, promise);
    gst_promise_unref(promise);
    gst_webrtc_session_description_free(remote);
}

void Link::on_remote_set(bool ok, const std::string& error) {
    if (!ok) {
        fail("the remote description was refused: " + error);
        return;
    }
    remote_set_ = true;
    for (const auto& [mline, candidate] : pending_remote_)
        g_signal_emit_by_name(webrtc_, "add-ice-candidate", mline, candidate.c_str());
    pending_remote_.clear();
    if (initiator_) return;
    GstPromise* promise = gst_promise_new_with_change_func(
        [](GstPromise* p, gpointer data) {
            auto error = promise_error(p);
            GstWebRTCSessionDescription* desc = nullptr;
            if (error.empty()) {
                gst_structure_get(gst_promise_get_reply(p), "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc,
                                  nullptr);
                if (!desc) error = "webrtcbin made no answer";
            }
            auto shared = owned(desc);
            held<Target>(data).post([shared, error](Link& link) { link.on_local_created(shared, error); });
        },
        hold(target()), [](gpointer data) { release<Target>(data); });
    g_signal_emit_by_name(webrtc_, "create-answer", nullptr, promise);
    gst_promise_unref(promise);
}

void Link::on_local_created(std::shared_ptr<GstWebRTCSessionDescription> desc, const std::string& error) {
    if (!error.empty()) {
        fail(error);
        return;
    }
    local_type_ = initiator_ ? "offer" : "answer";
    local_sdp_ = sdp_text(desc.get());
    g_signal_emit_by_name(webrtc_, "set-local-description", desc.get(), nullptr);
    if (trickle_) {
        send_description();
    } else if (gathering_complete_) {
        send_description();
    } else {
        auto weak = weak_from_this();
        gather_timer_ = config_.mailbox->post_after(config_.gather_timeout, [weak] {
            if (auto link = weak.lock()) {
                Mailbox::cancel(link->gather_timer_);
                link->gather_timer_ = nullptr;
                link->send_description();
            }
        });
    }
}

void Link::send_description() {
    if (description_sent_ || local_type_.empty()) return;
    std::string sdp = local_sdp_;
    if (!trickle_) {
        // By now webrtcbin has applied it (gathering starts there): take its
        // copy, which may hold candidates already, and add the others.
        GstWebRTCSessionDescription* local = nullptr;
        g_object_get(webrtc_, "local-description", &local, nullptr);
        if (local) sdp = sdp_text(local);
        if (local) gst_webrtc_session_description_free(local);
        sdp = with_candidates(sdp, local_candidates_);
    }
    description_sent_ = true;
    events_.signal(
        {{"type", initiator_ ? "peer-connect" : "peer-response"}, {"desc", {{"type", local_type_}, {"sdp", sdp}}}});
    if (!trickle_) return;
    for (const auto& [mline, candidate] : unsent_candidates_)
        events_.signal(
            {{"type", "peer-candidate"},
             {"candidate", {{"candidate", candidate}, {"sdpMid", mid_of(sdp, mline)}, {"sdpMLineIndex", mline}}}});
    unsent_candidates_.clear();
    if (gathering_complete_) events_.signal({{"type", "peer-candidate"}, {"candidate", nullptr}});
}

void Link::on_local_candidate(unsigned mline, std::string candidate) {
    if (candidate.empty()) return;
    local_candidates_.emplace_back(mline, candidate);
    if (!trickle_) return;
    if (!description_sent_) {
        unsent_candidates_.emplace_back(mline, std::move(candidate));
        return;
    }
    events_.signal(
        {{"type", "peer-candidate"},
         {"candidate", {{"candidate", candidate}, {"sdpMid", mid_of(local_sdp_, mline)}, {"sdpMLineIndex", mline}}}});
}

void Link::on_gathering_complete() {
    if (gathering_complete_) return;
    gathering_complete_ = true;
    if (!trickle_) {
        Mailbox::cancel(gather_timer_);
        gather_timer_ = nullptr;
        send_description();
    } else if (description_sent_) {
        events_.signal({{"type", "peer-candidate"}, {"candidate", nullptr}});
    }
}

void Link::add_remote_candidate(const nlohmann::json& candidate) {
    if (!candidate.is_object()) return;  // null: end of candidates, nothing to do for a data-only session
    auto text = candidate.find("candidate");
    if (text == candidate.end() || !text->is_string() || text->get_ref<const std::string&>().empty()) return;
    unsigned mline = 0;
    auto index = candidate.find("sdpMLineIndex");
    auto mid = candidate.find("sdpMid");
    if (index != candidate.end() && index->is_number_unsigned()) {
        mline = index->get<unsigned>();
    } else if (mid != candidate.end() && mid->is_string()) {
        mline = mline_of(remote_sdp_, mid->get_ref<const std::string&>()).value_or(0);
    }
    std::string line = text->get<std::string>();
    if (!remote_set_) {
        pending_remote_.emplace_back(mline, std::move(line));
        return;
    }
    g_signal_emit_by_name(webrtc_, "add-ice-candidate", mline, line.c_str());
}

void Link::attach_channel(GstWebRTCDataChannel* channel) {
    if (channel_) return;
    channel_ = GST_WEBRTC_DATA_CHANNEL(g_object_ref(channel));
    auto t = target();
    connect(
        channel_, "on-open",
        +[](GstWebRTCDataChannel*, gpointer data) {
            held<Target>(data).post([](Link& link) { link.events_.channel_open(); });
        },
        t);
    connect(
        channel_, "on-close",
        +[](GstWebRTCDataChannel*, gpointer data) {
            held<Target>(data).post([](Link& link) { link.fail("the data channel closed"); });
        },
        t);
    connect(
        channel_, "on-error",
        +[](GstWebRTCDataChannel*, GError* error, gpointer data) {
            std::string why = "data channel error: " + error_text(error, "unknown");
            held<Target>(data).post([why](Link& link) { link.fail(why); });
        },
        t);
    auto inbound = std::make_shared<Inbound>();
    inbound->target = *t;
    inbound->limit = config_.max_inbound_bytes;
    connect(
        channel_, "on-message-string",
        +[](GstWebRTCDataChannel*, gchar* text, gpointer data) { receive(holder<Inbound>(data), text ? text : ""); },
        inbound);
    connect(
        channel_, "on-message-data",
        +[](GstWebRTCDataChannel*, GBytes* bytes, gpointer data) {
            gsize size = 0;
            auto* raw = bytes ? static_cast<const char*>(g_bytes_get_data(bytes, &size)) : nullptr;
            receive(holder<Inbound>(data), raw ? std::string(raw, size) : std::string());
        },
        inbound);
    if (channel_is_open()) events_.channel_open();
}

void Link::receive(const std::shared_ptr<Inbound>& inbound, std::string frame) {
    if (inbound->cut) return;
    const std::size_t cost = frame.size() + inbound_overhead;
    if (inbound->bytes.fetch_add(cost) + cost > inbound->limit) {
        inbound->bytes -= cost;
        if (!inbound->cut.exchange(true))
            inbound->target.post([](Link& link) { link.fail("it sends faster than the host handles its messages"); });
        return;
    }
    inbound->target.mailbox->post([inbound, cost, frame = std::move(frame)] {
        inbound->bytes -= cost;
        if (auto link = inbound->target.link.lock(); link && !inbound->cut) link->events_.frame(frame);
    });
}

bool Link::channel_is_open() const {
    if (!channel_) return false;
    GstWebRTCDataChannelState state = GST_WEBRTC_DATA_CHANNEL_STATE_CLOSED;
    g_object_get(channel_, "ready-state", &state, nullptr);
    return state == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN;
}

bool Link::send(const std::string& text) {
    if (!channel_is_open()) return false;
    GError* error = nullptr;
    if (!gst_webrtc_data_channel_send_string_full(channel_, text.c_str(), &error)) {
        if (error) g_error_free(error);
        return false;
    }
    return true;
}

void Link::fail(const std::string& why) {
    if (failed_) return;
    failed_ = true;
    events_.failed(why);
}

}  // namespace switchboard::peer::detail

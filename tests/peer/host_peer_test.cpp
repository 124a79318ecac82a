// Host peers meshing with each other through one hub, in-process: the
// signalling goes through the hub, the messages over real webrtcbin data
// channels on 127.0.0.1 (ICE gathers on loopback only). Every wait is bounded.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

#include <switchboard/peer.hpp>

using namespace switchboard;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr auto patience = 20s;

/** What one HostPeer's callbacks saw, recorded on its thread. */
class Recorder {
public:
    /** `gate`: on_message waits for it (at most `patience`), as a busy application would. */
    void attach(peer::HostPeer& host, std::shared_future<void> gate = {}) {
        host.on_connected([this](UserId peer) { record([&] { connected_.push_back(peer); }); });
        host.on_message([this, gate](UserId from, const json& data) {
            if (gate.valid()) gate.wait_for(patience);
            record([&] { messages_.push_back({from, data}); });
        });
        host.on_left([this](UserId peer, const std::string& why) { record([&] { left_.push_back({peer, why}); }); });
    }

    struct Message {
        UserId from;
        json data;
    };
    struct Left {
        UserId peer;
        std::string why;
    };

    /** Waits at most `patience` for `done` to hold over what was recorded. */
    bool wait(const std::function<bool(const Recorder&)>& done) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, patience, [&] { return done(*this); });
    }

    std::vector<UserId> connected_;
    std::vector<Message> messages_;
    std::vector<Left> left_;

private:
    void record(const std::function<void()>& change) {
        {
            std::lock_guard lock(mutex_);
            change();
        }
        changed_.notify_all();
    }
    std::mutex mutex_;
    std::condition_variable changed_;
};

peer::PeerOptions loopback(Hub::LocalId id, bool trickle = true) {
    peer::PeerOptions options;
    options.id = id;
    options.local_addresses = {"127.0.0.1"};
    options.trickle = trickle;
    options.profile = {{"name", id == Hub::LocalId::host ? "Host" : "Other"}};
    return options;
}

/**
 * What a plain local participant of the hub received (its login, presence,
 * the signalling routed to it), or a hub's log lines: a user that never
 * answers, or a log to wait on.
 */
class Inbox {
public:
    LocalHandler handler() {
        return [this](const json& message) { add(message); };
    }
    LogSink sink() {
        return [this](LogLevel, std::string_view line) { add(std::string(line)); };
    }

    /** How many messages of `type` arrived. */
    std::size_t count(const std::string& type) {
        std::lock_guard lock(mutex_);
        return counted(type);
    }
    /** Waits at most `patience` for `n` messages of `type`. */
    bool wait_count(const std::string& type, std::size_t n) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, patience, [&] { return counted(type) >= n; });
    }
    /** The first message of `type` (null when none came). */
    json first(const std::string& type) {
        std::lock_guard lock(mutex_);
        for (const auto& m : items_)
            if (m.is_object() && m.value("type", "") == type) return m;
        return nullptr;
    }
    /** Waits at most `patience` for a log line that contains `text`. */
    bool wait_line(const std::string& text) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, patience, [&] { return has_line(text); });
    }
    /** Whether a log line that contains `text` arrived. */
    bool logged(const std::string& text) {
        std::lock_guard lock(mutex_);
        return has_line(text);
    }

private:
    std::size_t counted(const std::string& type) const {
        std::size_t n = 0;
        for (const auto& m : items_)
            n += m.is_object() && m.value("type", "") == type;
        return n;
    }
    bool has_line(const std::string& text) const {
        for (const auto& m : items_)
            if (m.is_string() && m.get<std::string>().find(text) != std::string::npos) return true;
        return false;
    }
    void add(json item) {
        {
            std::lock_guard lock(mutex_);
            items_.push_back(std::move(item));
        }
        changed_.notify_all();
    }
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<json> items_;
};

/** A hub's options that log to `log` from `level` up. */
Options logging_to(Inbox& log, LogLevel level) {
    Options options;
    options.log_sink = log.sink();
    options.log_level = level;
    return options;
}

/** Short timeouts and retries, so that a failing connection is retried within a second. */
peer::PeerOptions impatient(std::chrono::milliseconds peer_timeout, std::chrono::milliseconds retry_delay) {
    auto options = loopback(Hub::LocalId::host);
    options.peer_timeout = peer_timeout;
    options.retry_delay = retry_delay;
    options.peer_retries = 2;
    return options;
}

bool has_message(const Recorder& r, UserId from, const json& data) {
    for (const auto& m : r.messages_)
        if (m.from == from && m.data == data) return true;
    return false;
}

/** Two peers in one room: `first` joined before `second` (which therefore offers). */
void mesh_and_chat(bool first_trickles, bool second_trickles) {
    Hub hub;
    Recorder a, b;  // outlive the peers, whose last callbacks come from their destructors
    peer::HostPeer first(hub, loopback(Hub::LocalId::host, first_trickles));
    peer::HostPeer second(hub, loopback(Hub::LocalId::fresh, second_trickles));
    a.attach(first);
    b.attach(second);
    first.join();
    second.join();
    REQUIRE(first.id() == host_user_id);
    REQUIRE(second.id() != host_user_id);
    REQUIRE(a.wait([&](const Recorder& r) { return r.connected_ == std::vector<UserId>{second.id()}; }));
    REQUIRE(b.wait([&](const Recorder& r) { return r.connected_ == std::vector<UserId>{first.id()}; }));
    CHECK(first.peers() == std::vector<UserId>{second.id()});
    CHECK(second.profile_of(0) == json{{"name", "Host"}});
    CHECK(first.profile_of(second.id()) == json{{"name", "Other"}});

    // Both ways, several JSON kinds, in order.
    const std::vector<json> lines{"hello", json{{"text", "line 2"}, {"n", 2}}, json::array({1, 2, 3}), nullptr};
    for (const auto& line : lines) {
        CHECK(first.send(second.id(), line));
        CHECK(second.send_all(line) == 1);
    }
    REQUIRE(b.wait([&](const Recorder& r) { return r.messages_.size() == lines.size(); }));
    REQUIRE(a.wait([&](const Recorder& r) { return r.messages_.size() == lines.size(); }));
    for (std::size_t i = 0; i < lines.size(); ++i) {
        CHECK(a.messages_[i].from == second.id());
        CHECK(a.messages_[i].data == lines[i]);
        CHECK(b.messages_[i].from == first.id());
        CHECK(b.messages_[i].data == lines[i]);
    }
    // Only signalling went through the hub: 1 offer, 1 answer, some candidates.
    auto routed = hub.counters().messages_routed;
    CHECK(routed >= 2);
    CHECK(first.send(second.id(), "one more"));
    REQUIRE(b.wait([&](const Recorder& r) { return has_message(r, first.id(), "one more"); }));
    CHECK(hub.counters().messages_routed == routed);

    // The second one leaves: the first hears it, as "left" (user-left) or
    // "closed" (its channel closed first).
    const UserId gone = second.id();
    second.leave();
    REQUIRE(a.wait([&](const Recorder& r) { return r.left_.size() == 1; }));
    CHECK(a.left_[0].peer == gone);
    CHECK((a.left_[0].why == "left" || a.left_[0].why == "closed"));
    CHECK(b.left_.size() == 1);
    CHECK(b.left_[0].why == "shutdown");
    CHECK(first.peers().empty());
    CHECK_FALSE(first.send(gone, "nobody"));
}

}  // namespace

TEST_CASE("two host peers mesh through the hub and chat both ways (trickle)", "[peer]") {
    mesh_and_chat(true, true);
}

TEST_CASE("a non-trickle offer (candidates inside, the seed's style) is answered and chats", "[peer]") {
    mesh_and_chat(true, false);
}

TEST_CASE("a non-trickle answerer chats with a trickling offerer", "[peer]") {
    mesh_and_chat(false, true);
}

TEST_CASE("three host peers form a full mesh", "[peer]") {
    Hub hub;
    Recorder r1, r2, r3;
    peer::HostPeer host(hub, loopback(Hub::LocalId::host));
    peer::HostPeer two(hub, loopback(Hub::LocalId::fresh));
    peer::HostPeer three(hub, loopback(Hub::LocalId::fresh, false));
    r1.attach(host);
    r2.attach(two);
    r3.attach(three);
    host.join();
    two.join();
    three.join();
    auto connected_to_two_others = [](const Recorder& r) { return r.connected_.size() == 2; };
    REQUIRE(r1.wait(connected_to_two_others));
    REQUIRE(r2.wait(connected_to_two_others));
    REQUIRE(r3.wait(connected_to_two_others));
    CHECK(host.send_all("from the host") == 2);
    CHECK(three.send_all("from three") == 2);
    REQUIRE(r2.wait([&](const Recorder& r) {
        return has_message(r, host.id(), "from the host") && has_message(r, three.id(), "from three");
    }));
    REQUIRE(r3.wait([&](const Recorder& r) { return has_message(r, host.id(), "from the host"); }));
    REQUIRE(r1.wait([&](const Recorder& r) { return has_message(r, three.id(), "from three"); }));
}

TEST_CASE("a connection the host peer started is started again when it fails and then given up", "[peer]") {
    Hub hub;
    Inbox silent;  // a user that never answers
    auto user = hub.join_local("", silent.handler(), Hub::LocalId::fresh);
    Recorder a;
    peer::HostPeer host(hub, impatient(1500ms, 100ms));  // time for webrtcbin to make its offer
    a.attach(host);
    host.join();  // the newcomer: it offers to the silent user
    // The first offer and two retries, then "timeout" once, after the last.
    REQUIRE(a.wait([](const Recorder& r) { return !r.left_.empty(); }));
    CHECK(silent.count("peer-connect") == 3);
    CHECK(a.left_[0].peer == user->id());
    CHECK(a.left_[0].why == "timeout");
    // Nothing more: a third retry would come 400 ms after the second failed.
    std::this_thread::sleep_for(1s);
    CHECK(silent.count("peer-connect") == 3);
    CHECK(a.left_.size() == 1);
    CHECK(a.connected_.empty());
    host.leave();
}

TEST_CASE("a started connection lost on the way connects at its retry", "[peer]") {
    // Two hubs, and between them a relay: user `near` of the first hub passes
    // the signalling to and from user `far` of the second, where the
    // answering host peer is. The relay loses everything up to the second
    // offer, so the first connection never starts at the other end.
    Hub hub_a, hub_b;
    Recorder a, b;
    std::atomic<int> offers{0};
    std::shared_ptr<LocalParticipant> near, far;
    std::atomic<bool> relaying{false};
    auto relay = [&relaying](const json& message, const std::shared_ptr<LocalParticipant>& to_side, UserId to) {
        if (!relaying || !message.contains("from") || message.value("type", "").rfind("peer-", 0) != 0) return;
        json forwarded = message;
        forwarded.erase("from");
        forwarded["to"] = to;
        to_side->send(forwarded);
    };
    peer::HostPeer answerer(hub_b, loopback(Hub::LocalId::fresh));
    peer::HostPeer host(hub_a, impatient(3s, 100ms));
    a.attach(host);
    b.attach(answerer);
    answerer.join();
    far = hub_b.join_local(
        "", [&](const json& m) { relay(m, near, host_user_id); }, Hub::LocalId::fresh);
    near = hub_a.join_local(
        "",
        [&](const json& m) {
            if (m.value("type", "") == "peer-connect" && ++offers < 2) return;
            if (offers >= 2) relay(m, far, answerer.id());
        },
        Hub::LocalId::fresh);
    relaying = true;
    host.join();  // offers to `near`; the relay loses it and what follows

    REQUIRE(a.wait([&](const Recorder& r) { return r.connected_ == std::vector<UserId>{near->id()}; }));
    REQUIRE(b.wait([&](const Recorder& r) { return r.connected_ == std::vector<UserId>{far->id()}; }));
    CHECK(offers == 2);
    CHECK(a.left_.empty());  // the lost first try is no peer event
    CHECK(host.send(near->id(), "after a retry"));
    CHECK(answerer.send(far->id(), "back"));
    REQUIRE(b.wait([&](const Recorder& r) { return has_message(r, far->id(), "after a retry"); }));
    REQUIRE(a.wait([&](const Recorder& r) { return has_message(r, near->id(), "back"); }));
    relaying = false;
    host.leave();
    answerer.leave();
}

TEST_CASE("a user that leaves cancels the host peer's pending retry", "[peer]") {
    Inbox log;
    Hub hub(logging_to(log, LogLevel::debug));
    Inbox silent;
    auto user = hub.join_local("", silent.handler(), Hub::LocalId::fresh);
    Recorder a;
    peer::HostPeer host(hub, impatient(500ms, 1s));
    a.attach(host);
    host.join();
    REQUIRE(log.wait_line("starting again with " + std::to_string(user->id())));
    user->leave();  // within the second before the retry
    std::this_thread::sleep_for(1500ms);
    // A retry would have offered to a user who is gone, and the hub refused it.
    CHECK(hub.counters().errors.count(std::string(errc::unknown_recipient)) == 0);
    CHECK_FALSE(log.logged("refused"));
    CHECK(a.left_.empty());  // it left before connecting: no event
    host.leave();
}

TEST_CASE("a user's offers beyond max_offers_per_minute are ignored and the others still connect", "[peer]") {
    // A real offer, from a host peer of another hub to a user that never answers.
    json offer;
    {
        Hub elsewhere;
        Inbox silent;
        auto user = elsewhere.join_local("", silent.handler(), Hub::LocalId::fresh);
        peer::HostPeer offerer(elsewhere, loopback(Hub::LocalId::fresh));
        offerer.join();
        REQUIRE(silent.wait_count("peer-connect", 1));
        offer = silent.first("peer-connect").at("desc");
    }

    Inbox log;
    Hub hub(logging_to(log, LogLevel::warn));
    auto options = loopback(Hub::LocalId::host);
    options.max_offers_per_minute = 3;
    Recorder a;
    peer::HostPeer host(hub, options);
    a.attach(host);
    host.join();
    Inbox flooder;
    auto user = hub.join_local("", flooder.handler(), Hub::LocalId::fresh);
    // Three offers, one after the other's answer, are answered; the next ones are not.
    for (std::size_t i = 1; i <= 3; ++i) {
        user->send({{"type", "peer-connect"}, {"to", host_user_id}, {"desc", offer}});
        REQUIRE(flooder.wait_count("peer-response", i));
    }
    for (int i = 0; i < 20; ++i)
        user->send({{"type", "peer-connect"}, {"to", host_user_id}, {"desc", offer}});
    REQUIRE(log.wait_line("ignores the offers of " + std::to_string(user->id())));
    std::this_thread::sleep_for(1s);
    CHECK(flooder.count("peer-response") == 3);

    // Another user is not held up by the flood.
    Recorder b;
    peer::HostPeer other(hub, loopback(Hub::LocalId::fresh));
    b.attach(other);
    other.join();
    REQUIRE(b.wait([](const Recorder& r) { return r.connected_ == std::vector<UserId>{host_user_id}; }));
    other.leave();
    host.leave();
}

TEST_CASE("a peer that sends faster than the host handles is cut off and the others carry on", "[peer]") {
    Inbox log;
    Hub hub(logging_to(log, LogLevel::debug));
    auto options = loopback(Hub::LocalId::host);
    options.max_inbound_bytes = 64 * 1024;
    std::promise<void> busy;  // the host's application, busy with the flooder's first message
    Recorder a, b, c;
    peer::HostPeer host(hub, options);
    peer::HostPeer flooder(hub, loopback(Hub::LocalId::fresh));
    peer::HostPeer calm(hub, loopback(Hub::LocalId::fresh));
    a.attach(host, busy.get_future().share());
    b.attach(flooder);
    c.attach(calm);
    host.join();
    flooder.join();
    calm.join();
    auto with_host = [](const Recorder& r) {
        return std::find(r.connected_.begin(), r.connected_.end(), host_user_id) != r.connected_.end();
    };
    REQUIRE(a.wait([](const Recorder& r) { return r.connected_.size() == 2; }));
    REQUIRE(b.wait(with_host));
    REQUIRE(c.wait(with_host));

    // 40 messages of 16 KiB while the host is busy: over 64 KiB waiting
    // after four. They all reach the host's side within the second (so the
    // flooder has nothing in flight when it is cut off: see docs/host-peer.md).
    const std::string big(16 * 1024, 'x');
    for (int i = 0; i < 40; ++i)
        REQUIRE(flooder.send(host_user_id, big));
    std::this_thread::sleep_for(1s);
    busy.set_value();
    REQUIRE(a.wait([&](const Recorder& r) {
        for (const auto& left : r.left_)
            if (left.peer == flooder.id()) return left.why == "closed";
        return false;
    }));
    CHECK(log.logged("sends faster than the host handles its messages"));
    CHECK(a.messages_.size() <= 4);

    CHECK(calm.send(host_user_id, "still here"));
    REQUIRE(a.wait([&](const Recorder& r) { return has_message(r, calm.id(), "still here"); }));
    calm.leave();
    flooder.leave();
    host.leave();
}

TEST_CASE("user 0 is held by one host peer at a time and join twice is an error", "[peer]") {
    Hub hub;
    peer::HostPeer first(hub, loopback(Hub::LocalId::host));
    peer::HostPeer second(hub, loopback(Hub::LocalId::host));
    first.join();
    CHECK_THROWS_AS(first.join(), std::logic_error);
    CHECK_THROWS_AS(second.join(), std::logic_error);
    first.leave();
    first.leave();  // idempotent
    second.join();  // 0 is free again
    CHECK(second.id() == host_user_id);
}

TEST_CASE("bad options are refused at once", "[peer]") {
    Hub hub;
    peer::PeerOptions options;
    options.local_addresses = {"not-an-address"};
    CHECK_THROWS_AS(peer::HostPeer(hub, options), std::invalid_argument);
    options.local_addresses.clear();
    options.profile = "Host";
    CHECK_THROWS_AS(peer::HostPeer(hub, options), std::invalid_argument);
    options.profile = json::object();
    options.peer_retries = -1;
    CHECK_THROWS_AS(peer::HostPeer(hub, options), std::invalid_argument);
    options.peer_retries = 0;
    options.retry_delay = -1ms;
    CHECK_THROWS_AS(peer::HostPeer(hub, options), std::invalid_argument);
    options.retry_delay = 0ms;
    options.max_offers_per_minute = -1;
    CHECK_THROWS_AS(peer::HostPeer(hub, options), std::invalid_argument);
}

TEST_CASE("leave() from a callback is refused, not a deadlock", "[peer]") {
    Hub hub;
    std::mutex mutex;
    std::condition_variable done;
    std::string outcome;
    peer::HostPeer first(hub, loopback(Hub::LocalId::host));
    peer::HostPeer second(hub, loopback(Hub::LocalId::fresh));
    first.on_connected([&](UserId) {
        std::string what = "left";
        try {
            first.leave();
        } catch (const std::logic_error&) {
            what = "refused";
        }
        std::lock_guard lock(mutex);
        outcome = what;
        done.notify_all();
    });
    first.join();
    second.join();
    std::unique_lock lock(mutex);
    REQUIRE(done.wait_for(lock, patience, [&] { return !outcome.empty(); }));
    CHECK(outcome == "refused");
}

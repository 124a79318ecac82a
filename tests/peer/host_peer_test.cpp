// Host peers meshing with each other through one hub, in-process: the
// signalling goes through the hub, the messages over real webrtcbin data
// channels on 127.0.0.1 (ICE gathers on loopback only). Every wait is bounded.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
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
    void attach(peer::HostPeer& host) {
        host.on_connected([this](UserId peer) { record([&] { connected_.push_back(peer); }); });
        host.on_message([this](UserId from, const json& data) { record([&] { messages_.push_back({from, data}); }); });
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

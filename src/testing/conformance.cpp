#include <switchboard/testing/conformance.hpp>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "client.hpp"
#include "client_frames.hpp"
#include "raw_client.hpp"

namespace switchboard::testing {
namespace {

using namespace std::chrono_literals;
using detail::Client;
using detail::ConnectOptions;
using detail::Event;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

/** Thrown by a clause's checks; its text is the explanation the report shows. */
struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
    throw Failure(fmt::format(format, std::forward<Args>(args)...));
}

std::string describe(const Event& e) {
    switch (e.kind) {
        case Event::Kind::text:
            return e.data.size() > 300 ? "the message " + e.data.substr(0, 300) + "..." : "the message " + e.data;
        case Event::Kind::binary:
            return fmt::format("a binary frame of {} bytes", e.data.size());
        case Event::Kind::closed:
            if (e.close_code == 0) return fmt::format("the connection ending without a close frame ({})", e.data);
            return fmt::format("a close frame with code {} (\"{}\")", e.close_code, e.data);
    }
    return "?";
}

bool presence(std::string_view type) {
    return type == "user-joined" || type == "user-left";
}

/** A connected client, named for the report. */
struct User {
    std::string name;
    std::unique_ptr<Client> client;
    UserId id = 0;
    json login;
};

/** A bounded wait for a user's events: `total` from now, however many events it reads. */
struct Wait {
    explicit Wait(ms total) : total(total), deadline(Clock::now() + total) {}

    /** The user's next event, or nullopt once the time is up. */
    std::optional<Event> next(User& u) const {
        return u.client->next(std::max(ms(0), std::chrono::duration_cast<ms>(deadline - Clock::now())));
    }

    const ms total;
    const Clock::time_point deadline;
};

/** One clause's world: a fresh hub, the target serving it, and the kit's clients. */
class Run {
public:
    Run(const Target& target, const KitOptions& kit, Options hub_options, TransportSettings settings,
        const std::function<void(Hub&)>& setup = {})
        : kit(kit), settings(settings), target_(target) {
        hub_options.log_sink = kit.log_sink;
        hub_options.log_level = kit.log_level;
        if (kit.hub_options) kit.hub_options(hub_options);
        hub_ = std::make_unique<Hub>(std::move(hub_options));
        if (setup) setup(*hub_);
        try {
            port = target.start(*hub_, settings);
        } catch (const std::exception& e) {
            fail("Target::start threw: {}", e.what());
        }
        if (port == 0) fail("Target::start returned port 0");
        running_ = true;
    }

    ~Run() {
        try {
            stop();
        } catch (...) {
        }
    }

    Hub& hub() { return *hub_; }

    /** Calls Target::stop once; fails if it takes longer than the kit allows. */
    void stop() {
        if (!running_) return;
        running_ = false;
        auto begin = Clock::now();
        try {
            target_.stop();
        } catch (const std::exception& e) {
            fail("Target::stop threw: {}", e.what());
        }
        auto took = std::chrono::duration_cast<ms>(Clock::now() - begin);
        if (took > kit.timeout + 2 * settings.handshake_timeout)
            fail("Target::stop took {} ms; expected it to return within {} ms", took.count(),
                 (kit.timeout + 2 * settings.handshake_timeout).count());
    }

    /** Start a client without waiting for anything. */
    User open(std::string name, std::string path = "/", ConnectOptions options = {}) {
        options.target = std::move(path);
        options.handshake_timeout = kit.timeout;
        return User{std::move(name), std::make_unique<Client>(loop_, port, std::move(options)), 0, {}};
    }

    /** Upgrade and read the login; fails the clause otherwise. */
    void join(User& u) {
        auto upgrade = u.client->wait_upgrade(kit.timeout);
        if (!upgrade.accepted) {
            if (upgrade.status != 0)
                fail("{} expected its WebSocket upgrade to be accepted (101), but got HTTP {}: {}", u.name,
                     upgrade.status, upgrade.body);
            fail("{} expected its WebSocket upgrade to be accepted, but {}", u.name, upgrade.error);
        }
        u.login = expect(u, "login", "a new connection's first message");
        if (!u.login.contains("userId") || !u.login["userId"].is_number_unsigned())
            fail("{}'s login has no unsigned integer userId: {}", u.name, u.login.dump());
        u.id = u.login["userId"].get<UserId>();
    }

    User connect(std::string name, std::string path = "/", ConnectOptions options = {}) {
        auto u = open(std::move(name), std::move(path), std::move(options));
        join(u);
        return u;
    }

    /**
     * The next message of `type` for `u`. Presence messages (user-joined,
     * user-left) are skipped unless one of them is asked for; anything else
     * fails the clause.
     */
    json expect(User& u, std::string_view type, std::string_view why, std::optional<ms> within = {}) {
        Wait wait(within.value_or(kit.timeout));
        for (;;) {
            auto event = wait.next(u);
            if (!event)
                fail("{}: {} expected a `{}` message within {} ms, but nothing arrived", why, u.name, type,
                     wait.total.count());
            if (event->kind != Event::Kind::text)
                fail("{}: {} expected a `{}` message, but observed {}", why, u.name, type, describe(*event));
            json m = json::parse(event->data, nullptr, false);
            if (m.is_discarded() || !m.is_object() || !m.contains("type") || !m["type"].is_string())
                fail("{}: {} expected a `{}` message, but received a text that is not a message: {}", why, u.name, type,
                     describe(*event));
            auto got = m["type"].get<std::string>();
            if (got == type) return m;
            if (presence(got) && !presence(type)) continue;
            fail("{}: {} expected a `{}` message, but received {}", why, u.name, type, describe(*event));
        }
    }

    /** The next `type` presence message about `id`, skipping presence about others. */
    void expect_presence(User& u, std::string_view type, UserId id, std::string_view why,
                         std::optional<ms> within = {}) {
        Wait wait(within.value_or(kit.timeout));
        for (;;) {
            auto event = wait.next(u);
            if (!event)
                fail("{}: {} expected {{\"type\":\"{}\",\"userId\":{}}} within {} ms, but nothing arrived", why, u.name,
                     type, id, wait.total.count());
            json m = json::parse(event->data, nullptr, false);
            if (event->kind == Event::Kind::text && m.is_object() && m.value("type", "") == type &&
                m.value("userId", UserId(~0ull)) == id)
                return;
            if (event->kind == Event::Kind::text && m.is_object() && presence(m.value("type", ""))) continue;
            fail("{}: {} expected {{\"type\":\"{}\",\"userId\":{}}}, but observed {}", why, u.name, type, id,
                 describe(*event));
        }
    }

    /** The connection closes with `code` (messages before the close are skipped). */
    void expect_close(User& u, int code, std::string_view why, std::optional<ms> within = {}) {
        Wait wait(within.value_or(kit.timeout));
        for (;;) {
            auto event = wait.next(u);
            if (!event)
                fail("{}: {} expected the server to close with {} within {} ms, but it stayed open", why, u.name, code,
                     wait.total.count());
            if (event->kind != Event::Kind::closed) continue;
            if (event->close_code != code)
                fail("{}: {} expected a close frame with code {}, but observed {}", why, u.name, code,
                     describe(*event));
            return;
        }
    }

    /** Nothing at all arrives for `u` during `quiet`. */
    void expect_nothing(User& u, ms quiet, std::string_view why) {
        if (auto event = u.client->next(quiet))
            fail("{}: {} expected to receive nothing, but observed {}", why, u.name, describe(*event));
    }

    /** An error reply with `code` (and no close). */
    json expect_error(User& u, std::string_view code, std::string_view why) {
        auto e = expect(u, "error", why);
        if (e.value("code", "") != code)
            fail("{}: {} expected an error with code `{}`, but got {}", why, u.name, code, e.dump());
        if (!e.contains("message") || !e["message"].is_string() || e["message"].get<std::string>().empty())
            fail("{}: the `{}` error has no human message: {}", why, code, e.dump());
        return e;
    }

    void send(User& u, const json& message) { u.client->send_text(message.dump()); }

    /** A routed message from `from` reaches `to` (proves both connections still work). */
    void roundtrip(User& from, User& to, std::string_view why) {
        send(from, {{"type", "peer-candidate"}, {"to", to.id}, {"candidate", nullptr}});
        auto m = expect(to, "peer-candidate", why);
        if (m.value("from", UserId(~0ull)) != from.id)
            fail("{}: {} expected a peer-candidate from {} (user {}), but got {}", why, to.name, from.name, from.id,
                 m.dump());
    }

    /** Transport closes the adapter counted under `reason`, read from the hub. */
    std::uint64_t counted(std::string_view reason) {
        auto c = hub_->counters().transport_closes;
        auto it = c.find(std::string(reason));
        return it == c.end() ? 0 : it->second;
    }

    void expect_counted(std::string_view reason, std::string_view why) {
        // The count may land just after the close is visible to the client.
        auto deadline = Clock::now() + kit.timeout;
        while (counted(reason) == 0 && Clock::now() < deadline)
            std::this_thread::sleep_for(10ms);
        if (counted(reason) == 0) {
            std::string seen;
            for (auto& [k, v] : hub_->counters().transport_closes)
                seen += fmt::format("{}{}={}", seen.empty() ? "" : ", ", k, v);
            fail("{}: expected the adapter to call hub.count_transport_close(\"{}\"), but the hub counted {}", why,
                 reason, seen.empty() ? std::string("no transport closes") : seen);
        }
    }

    detail::Loop& loop() { return loop_; }

    const KitOptions& kit;
    const TransportSettings settings;
    std::uint16_t port = 0;

private:
    const Target& target_;
    std::unique_ptr<Hub> hub_;
    detail::Loop loop_;  // after hub_: clients go before the hub
    bool running_ = false;
};

/** Hub options for the kit: default limits, no rate limit (clauses send bursts). */
Options quiet_hub() {
    Options o;
    o.limits.rate_per_second = 0;
    return o;
}

json offer(UserId to) {
    return {{"type", "peer-connect"},
            {"to", to},
            {"desc", {{"type", "offer"}, {"sdp", "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"}}}};
}

// ---- The clauses ----

void login(const Target& t, const KitOptions& k) {
    Run run(t, k, quiet_hub(), {});
    std::vector<User> users;
    std::vector<UserId> ids;
    for (int i = 0; i < 3; ++i) {
        users.push_back(run.connect(fmt::format("client {}", i + 1)));
        auto& u = users.back();
        auto listed = u.login.value("users", json());
        if (!listed.is_array()) fail("{}'s login has no `users` array: {}", u.name, u.login.dump());
        auto expected = ids;
        std::sort(expected.begin(), expected.end());
        if (listed != json(expected))
            fail("{}'s login should list the users already in the room, ascending, without itself: expected {}, got {}",
                 u.name, json(expected).dump(), listed.dump());
        if (std::find(ids.begin(), ids.end(), u.id) != ids.end())
            fail("{} got user ID {}, which another connected client already has", u.name, u.id);
        ids.push_back(u.id);
    }
    auto leaving = users.front().id;
    users.front().client->close();
    run.expect_presence(users[1], "user-left", leaving, "after client 1 closed");
    auto late = run.connect("client 4");
    for (auto id : ids)
        if (late.id == id) fail("client 4 got user ID {}, which was given out before: IDs must never be reused", id);
}

void routing(const Target& t, const KitOptions& k) {
    Run run(t, k, quiet_hub(), {});
    auto a = run.connect("alice");
    auto b = run.connect("bob");
    auto forged = offer(b.id);
    forged["from"] = 999999;
    run.send(a, forged);
    auto m = run.expect(b, "peer-connect", "alice sent bob a peer-connect with a forged `from`");
    if (m.value("from", UserId(~0ull)) != a.id)
        fail("bob expected the peer-connect with \"from\":{} (alice's ID, set by the server), but got {}", a.id,
             m.dump());
    if (m.contains("to")) fail("bob expected the server to remove `to` from the routed message, but got {}", m.dump());
    if (m["desc"] != forged["desc"])
        fail("bob expected `desc` unchanged ({}), but got {}", forged["desc"].dump(), m.dump());

    run.send(b, {{"type", "peer-response"}, {"to", a.id}, {"desc", {{"type", "answer"}, {"sdp", "v=0\r\n"}}}});
    m = run.expect(a, "peer-response", "bob answered alice with a peer-response");
    if (m.value("from", UserId(~0ull)) != b.id) fail("alice expected a peer-response from {}, got {}", b.id, m.dump());

    json candidate = {
        {"candidate", "candidate:1 1 udp 2122260223 127.0.0.1 51234 typ host"}, {"sdpMid", "0"}, {"sdpMLineIndex", 0}};
    run.send(a, {{"type", "peer-candidate"}, {"to", b.id}, {"candidate", candidate}});
    m = run.expect(b, "peer-candidate", "alice trickled an ICE candidate to bob");
    if (m.value("candidate", json()) != candidate)
        fail("bob expected the candidate {} unchanged, got {}", candidate.dump(), m.dump());
    run.roundtrip(a, b, "alice sent bob an end-of-candidates");
    run.expect_nothing(a, 100ms, "alice only sent valid messages");
}

void pass_through(const Target& t, const KitOptions& k) {
    Run run(t, k, quiet_hub(), {});
    auto a = run.connect("alice");
    auto b = run.connect("bob");
    // Written by hand: spacing, number spelling and escapes must survive as sent.
    const std::string extra =
        R"("x-app":{"n":1.50,"big":12345678901234567890,"s":"caf\u00e9 \ud83d\ude00","l":[1,"two",null,false]})";
    // Whitespace between members is not kept (docs/protocol.md); inside a value it is.
    const std::string text = fmt::format(
        R"({{"type":"peer-connect","to":{},"desc":{{"type":"offer","sdp":"v=0\r\n"}},{},"zz":true, "y" :  [1,2 ,3]}})",
        b.id, extra);
    a.client->send_text(text);
    auto event = b.client->next(k.timeout);
    while (event && event->kind == Event::Kind::text &&
           presence(json::parse(event->data, nullptr, false).value("type", "")))
        event = b.client->next(k.timeout);
    if (!event) fail("bob expected alice's peer-connect within {} ms, but nothing arrived", k.timeout.count());
    if (event->kind != Event::Kind::text) fail("bob expected alice's peer-connect, but observed {}", describe(*event));
    if (event->data.find(extra) == std::string::npos || event->data.find(R"("zz":true)") == std::string::npos ||
        event->data.find(R"("y":[1,2 ,3])") == std::string::npos)
        fail(
            "members the server does not know must pass with their values byte for byte: bob expected the text to "
            "contain {}, \"zz\":true and \"y\":[1,2 ,3], but received {}",
            extra, event->data);
}

void presence_clause(const Target& t, const KitOptions& k) {
    Run run(t, k, quiet_hub(), {});
    auto a = run.connect("alice");
    auto b = run.connect("bob");
    run.expect_presence(a, "user-joined", b.id, "bob joined alice's room");
    b.client->close();
    run.expect_presence(a, "user-left", b.id, "bob closed its connection");
    auto c = run.connect("carol");
    run.expect_presence(a, "user-joined", c.id, "carol joined alice's room");
    if (c.login["users"] != json::array({a.id}))
        fail("carol's login should list only alice ({}), since bob left; got {}", a.id, c.login.dump());
}

void errors(const Target& t, const KitOptions& k) {
    auto options = quiet_hub();
    options.limits.max_message_bytes = 2048;
    TransportSettings settings;
    settings.read_message_max = 8192;  // above the hub's limit, so the hub's own check answers
    Run run(t, k, options, settings);
    auto a = run.connect("alice");
    auto b = run.connect("bob");
    struct Case {
        std::string text, code, what;
    };
    std::vector<Case> cases = {
        {"{\"type\":", "invalid-json", "truncated JSON"},
        {"[1,2,3]", "invalid-message", "a JSON array instead of an object"},
        {R"({"type":42})", "invalid-message", "a non-string type"},
        {R"({"type":"peer-connect","to":"two","desc":{"type":"offer","sdp":""}})", "invalid-message", "a string `to`"},
        {R"({"type":"no-such-type","to":1})", "unknown-type", "an unregistered type"},
        {offer(424242).dump(), "unknown-recipient", "a `to` nobody has"},
        {R"({"type":"login","userId":1,"users":[]})", "forbidden", "a server-only type"},
        {fmt::format(R"({{"type":"peer-connect","to":{},"desc":{{"type":"offer","sdp":"{}"}}}})", b.id,
                     std::string(4000, 'x')),
         "message-too-large", "4 KB against a 2 KB hub limit (transport limit 8 KB)"},
    };
    for (auto& c : cases) {
        a.client->send_text(c.text);
        auto e = run.expect_error(a, c.code, "alice sent " + c.what);
        if (c.code == "unknown-recipient" && e.value("request", json()).value("to", UserId(0)) != 424242)
            fail("the unknown-recipient error should echo request.to = 424242, got {}", e.dump());
        run.roundtrip(a, b, "after the `" + c.code + "` error alice's connection must stay usable");
    }
    run.expect_nothing(b, 100ms, "bob must receive none of alice's rejected messages");
}

void rate_limited(const Target& t, const KitOptions& k) {
    Options options;
    options.limits.rate_per_second = 1;
    options.limits.rate_burst = 3;
    Run run(t, k, options, {});
    auto a = run.connect("alice");
    auto b = run.connect("bob");
    for (int i = 0; i < 10; ++i)
        run.send(a, {{"type", "peer-candidate"}, {"to", b.id}, {"candidate", nullptr}});
    run.expect_error(a, "rate-limited", "alice sent 10 messages at once with a rate of 1/s and bursts of 3");
}

void room_full(const Target& t, const KitOptions& k) {
    auto options = quiet_hub();
    options.limits.max_users_per_room = 2;
    Run run(t, k, options, {});
    auto a = run.connect("alice");
    auto b = run.connect("bob");
    auto c = run.open("carol");
    if (auto up = c.client->wait_upgrade(k.timeout); !up.accepted)
        fail("carol expected the upgrade to succeed before the room-full error, got HTTP {} {}", up.status, up.error);
    run.expect_error(c, "room-full", "carol joined a room of 2 that already had 2 users");
    run.expect_close(c, 1013, "after room-full");
    run.roundtrip(a, b, "alice and bob carry on after carol was refused");
}

void too_many_rooms(const Target& t, const KitOptions& k) {
    auto options = quiet_hub();
    options.limits.max_rooms = 1;
    Run run(t, k, options, {});
    auto a = run.connect("alice", "/room/one");
    auto b = run.open("bob", "/room/two");
    if (auto up = b.client->wait_upgrade(k.timeout); !up.accepted)
        fail("bob expected the upgrade to succeed before the too-many-rooms error, got HTTP {} {}", up.status,
             up.error);
    run.expect_error(b, "too-many-rooms", "bob opened a second room on a server allowing 1");
    run.expect_close(b, 1013, "after too-many-rooms");
    run.connect("carol", "/room/one");
}

void handshake_refusals(const Target& t, const KitOptions& k) {
    auto options = quiet_hub();
    options.allowed_origins = {"http://allowed.example"};
    Run run(t, k, options, {}, [](Hub& hub) {
        hub.on_authorize([](const Handshake& h) {
            return h.query_param("token") == "bad" ? Verdict::deny("token bad is revoked") : Verdict::allow();
        });
    });
    auto expect_refusal = [&](std::string who, std::string path, ConnectOptions o, int status, std::string body) {
        auto u = run.open(who, path, std::move(o));
        auto up = u.client->wait_upgrade(k.timeout);
        if (up.accepted) fail("{} expected HTTP {} for {}, but the upgrade was accepted", who, status, path);
        if (up.status != status)
            fail("{} expected HTTP {} for {}, but got {}", who, status, path,
                 up.status ? fmt::format("HTTP {} {}", up.status, up.body) : up.error);
        if (up.body.find(body) == std::string::npos)
            fail("{} expected the refusal's body to give the reason (containing \"{}\"), but it was \"{}\"", who, body,
                 up.body);
    };
    expect_refusal("a client of an unknown path", "/nowhere", {}, 404, "");
    ConnectOptions foreign;
    foreign.headers = {{"Origin", "http://evil.example"}};
    expect_refusal("a client from a foreign Origin", "/", foreign, 403, "evil.example");
    expect_refusal("a client with a revoked token", "/?token=bad", {}, 403, "token bad is revoked");
    ConnectOptions allowed;
    allowed.headers = {{"Origin", "http://allowed.example"}};
    run.connect("a client from the allowed Origin with a good token", "/room/ok?token=good", allowed);
}

void rooms_isolation(const Target& t, const KitOptions& k) {
    Run run(t, k, quiet_hub(), {});
    auto a = run.connect("alice in /room/red", "/room/red");
    auto b = run.connect("bob in /room/blue", "/room/blue");
    auto d = run.connect("dave in the default room", "/");
    auto c = run.connect("carol in /room/red", "/room/red");
    for (auto* u : {&b, &d})
        if (u->login["users"] != json::array())
            fail("{} should see nobody in its room, but its login was {}", u->name, u->login.dump());
    if (c.login["users"] != json::array({a.id}))
        fail("carol should see only alice ({}), but her login was {}", a.id, c.login.dump());
    run.expect_presence(a, "user-joined", c.id, "carol joined alice's room");
    run.send(a, offer(b.id));
    auto e = run.expect_error(a, "unknown-recipient", "alice addressed bob, who is in another room");
    run.send(d, offer(a.id));
    run.expect_error(d, "unknown-recipient", "dave (default room) addressed alice in /room/red");
    run.expect_nothing(b, 200ms, "bob must not see anything from /room/red");
    run.expect_nothing(d, 0ms, "dave must not see anything from /room/red");
    run.roundtrip(c, a, "within /room/red");
}

void oversized_message(const Target& t, const KitOptions& k) {
    auto options = quiet_hub();
    options.limits.max_message_bytes = 2048;
    Run run(t, k, options, {});  // read_message_max 0: the transport enforces the hub's limit
    auto a = run.connect("alice");
    auto b = run.connect("bob");
    a.client->send_text(fmt::format(R"({{"type":"peer-connect","to":{},"desc":{{"type":"offer","sdp":"{}"}}}})", b.id,
                                    std::string(4096, 'x')));
    run.expect_close(a, 1009, "alice sent a 4 KB message to a server whose limit is 2 KB");
    run.expect_presence(b, "user-left", a.id, "alice was closed for an oversized message");
    run.expect_counted(transport_close::message_too_big, "after closing alice with 1009");
}

void binary_frame(const Target& t, const KitOptions& k) {
    Run run(t, k, quiet_hub(), {});
    auto a = run.connect("alice");
    auto b = run.connect("bob");
    a.client->send_binary(std::string("\x01\x02\x03", 3));
    run.expect_close(a, 1003, "alice sent a binary frame");
    run.expect_presence(b, "user-left", a.id, "alice was closed for a binary frame");
    run.expect_counted(transport_close::binary_frame, "after closing alice with 1003");
}

/** A raw client joined to "/" (its login read), with a small receive buffer so that not reading backs it up quickly. */
struct RawUser {
    detail::RawClient raw;
    UserId id = 0;
};

std::unique_ptr<RawUser> raw_join(Run& run, std::string_view name) {
    auto u = std::make_unique<RawUser>();
    if (!u->raw.connect(run.port, 4096, run.kit.timeout)) fail("{} could not connect: {}", name, u->raw.error());
    int status = u->raw.request(detail::RawClient::upgrade_request("/"), run.kit.timeout);
    if (status != 101) fail("{} expected its upgrade to be accepted (101), but got {}", name, status);
    auto login = u->raw.next_frame(run.kit.timeout);
    json m = login ? json::parse(login->payload, nullptr, false) : json();
    if (!m.is_object() || m.value("type", "") != "login" || !m.contains("userId"))
        fail("{} expected `login` as its first frame, but got {}", name, login ? login->payload : "nothing");
    u->id = m["userId"].get<UserId>();
    return u;
}

/**
 * `sender` floods `to` with 16 KiB offers until it is answered
 * `recipient-busy` (so `to`'s queue holds its share for routed messages
 * and the server's writes to it are blocked). Anything else the sender gets
 * but presence fails the clause. Bounded in bytes and time.
 */
void flood_until_busy(Run& run, User& sender, UserId to, std::string_view why) {
    const std::string sdp(16 * 1024, 'x');
    const std::string text =
        json{{"type", "peer-connect"}, {"to", to}, {"desc", {{"type", "offer"}, {"sdp", sdp}}}}.dump();
    const std::size_t max_bytes = 256u * 1024 * 1024;
    std::size_t sent = 0;
    auto begin = Clock::now();
    auto deadline = begin + 4 * run.kit.timeout;
    while (sent < max_bytes && Clock::now() < deadline) {
        if (sender.client->unsent() < 64) {
            for (int i = 0; i < 16; ++i)
                sender.client->send_text(text);
            sent += 16 * text.size();
        }
        auto event = sender.client->next(5ms);
        if (!event) continue;
        json m = json::parse(event->data, nullptr, false);
        if (event->kind == Event::Kind::text && m.is_object() && presence(m.value("type", ""))) continue;
        if (event->kind == Event::Kind::text && m.is_object() && m.value("type", "") == "error" &&
            m.value("code", "") == "recipient-busy")
            return;
        fail("{}: {} expected only `recipient-busy` errors while flooding user {}, but observed {}", why, sender.name,
             to, describe(*event));
    }
    fail(
        "{}: expected `recipient-busy` once user {} (not reading) held its share of routed messages, but after {} MB "
        "over {} ms every message was accepted",
        why, to, sent / (1024 * 1024), std::chrono::duration_cast<ms>(Clock::now() - begin).count());
}

/** A queue small enough for a client that stops reading to back it up quickly. */
TransportSettings small_queue() {
    TransportSettings settings;
    settings.queue_max_bytes = 256 * 1024;
    settings.queue_max_messages = 64;
    return settings;
}

void slow_consumer(const Target& t, const KitOptions& k) {
    TransportSettings settings;
    settings.queue_max_bytes = 64 * 1024;
    settings.queue_max_messages = 64;
    settings.handshake_timeout = 1000ms;
    Run run(t, k, quiet_hub(), settings);
    auto watcher = run.connect("watcher");
    auto slow = raw_join(run, "a client that sends but stopped reading");
    run.expect_presence(watcher, "user-joined", slow->id, "the slow client joined");

    // Every bad message earns the slow client an `error` from the server
    // itself: once those fill its queue (kernel buffers first), it must go.
    const std::string bad = detail::RawClient::frame(0x1, "{");
    std::string burst;
    for (int i = 0; i < 500; ++i)
        burst += bad;
    auto begin = Clock::now();
    bool dropped = false;
    for (int round = 0; round < 200 && !dropped; ++round) {
        // Once the server closed the slow client, the writes fail: then only the user-left is still to come.
        const bool closed = !slow->raw.write(burst, k.timeout);
        const bool last = closed || round == 199;
        while (auto event = watcher.client->next(last ? k.timeout : 1ms)) {
            json m = json::parse(event->data, nullptr, false);
            if (event->kind == Event::Kind::text && m.is_object() && m.value("type", "") == "user-left" &&
                m.value("userId", UserId(0)) == slow->id) {
                dropped = true;
                break;
            }
            if (event->kind == Event::Kind::closed)
                fail("the watcher, which reads everything, was closed while another client stalled: {}",
                     describe(*event));
        }
        if (closed) break;
    }
    if (!dropped)
        fail(
            "expected the server to drop a client that stopped reading once the errors it earned overflowed its queue "
            "(the watcher gets user-left {}), but after {} bad messages over {} ms it was still in the room",
            slow->id, 200 * 500, std::chrono::duration_cast<ms>(Clock::now() - begin).count());
    run.expect_counted(transport_close::slow_consumer, "after dropping the stalled client");
    auto other = run.connect("a newcomer");
    run.roundtrip(other, watcher, "after the stalled client was dropped, the others carry on");
}

void busy_recipient(const Target& t, const KitOptions& k) {
    TransportSettings settings = small_queue();
    Run run(t, k, quiet_hub(), settings);
    auto stalled = raw_join(run, "a client that stopped reading");
    auto sender = run.connect("sender");
    auto watcher = run.connect("watcher");
    run.expect_presence(sender, "user-joined", watcher.id, "watcher joined");
    flood_until_busy(run, sender, stalled->id, "messages to a client that stopped reading");
    // Other users' messages must not get it closed: only the server's own may.
    if (auto event = watcher.client->next(300ms)) {
        fail("the flood was refused with recipient-busy, so the stalled user must stay; but the watcher observed {}",
             describe(*event));
    }
    if (run.counted(transport_close::slow_consumer) != 0)
        fail("a client must not be closed as slow-consumer because other users sent it more than it could take");
    run.roundtrip(sender, watcher, "the sender and the others carry on");
}

void burst_to_reader(const Target& t, const KitOptions& k) {
    // The hub's default rate limit: the largest burst one user may send.
    Options options;
    const auto burst = static_cast<int>(options.limits.rate_burst);
    Run run(t, k, options, {});
    ConnectOptions small_window;
    small_window.receive_buffer = 4096;  // reads all the time, but over a small TCP window
    auto victim = run.connect("a client that reads normally", "/", small_window);
    auto sender = run.connect("a sender bursting at it");
    run.expect_presence(victim, "user-joined", sender.id, "the sender joined");
    for (int i = 0; i < burst; ++i)
        run.send(sender, {{"type", "peer-candidate"},
                          {"to", victim.id},
                          {"n", i},
                          {"candidate", {{"candidate", std::string(4000, 'c')}, {"sdpMid", "0"}}}});
    // The sender learns about every message the victim could not take.
    int refused = 0, delivered = 0, next = 0;
    Wait wait(4 * k.timeout);
    while (refused + delivered < burst) {
        auto from_sender = sender.client->next(0ms);
        if (from_sender) {
            json m = json::parse(from_sender->data, nullptr, false);
            if (from_sender->kind == Event::Kind::text && m.is_object() && m.value("type", "") == "error" &&
                m.value("code", "") == "recipient-busy") {
                ++refused;
                continue;
            }
            fail("a burst of {} at a reading client: the sender expected nothing but recipient-busy, but observed {}",
                 burst, describe(*from_sender));
        }
        auto event = victim.client->next(1ms);
        if (!event) {
            if (Clock::now() > wait.deadline)
                fail("a burst of {}: after {} delivered and {} refused, nothing more arrived", burst, delivered,
                     refused);
            continue;
        }
        if (event->kind == Event::Kind::closed)
            fail("one user's burst of {} must never get a recipient that reads closed, but it observed {}", burst,
                 describe(*event));
        json m = json::parse(event->data, nullptr, false);
        if (!m.is_object() || m.value("type", "") != "peer-candidate") continue;
        int n = m.value("n", -1);
        if (n < next) fail("messages of one burst must arrive in order: got n={} after n={}", n, next - 1);
        next = n + 1;
        ++delivered;
    }
    run.roundtrip(sender, victim, "after the burst, both carry on");
}

void ping_flood(const Target& t, const KitOptions& k) {
    TransportSettings settings = small_queue();
    Run run(t, k, quiet_hub(), settings);
    auto flooder = raw_join(run, "a client that floods pings and does not read");
    // 100,000 pings of 125 bytes: 12 MB of pongs if each were answered, far
    // more than kernel buffers hold, so they would pile up in the server.
    const int pings = 100'000;
    std::string batch;
    for (int i = 0; i < 1000; ++i)
        batch += detail::RawClient::frame(0x9, std::string(125, 'p'));
    for (int i = 0; i < pings / 1000; ++i)
        if (!flooder->raw.write(batch, k.timeout)) break;  // closed as too slow meanwhile: fine
    int pongs = 0, close = 0;
    for (;;) {
        auto frame = flooder->raw.next_frame(1000ms);
        if (!frame) break;
        if (frame->opcode == 0xA) ++pongs;
        if (frame->opcode == 0x8) {
            close = detail::parse_close(frame->payload).code;
            break;
        }
    }
    if (close != 0 || flooder->raw.ended()) {
        // Closed: as too slow, and counted so. (The close frame may be lost
        // behind the pongs when the server then drops the connection.)
        if (close != 0 && close != close_code::policy_violation)
            fail("a ping flood may close the flooder only as too slow (1008), but the server closed with {}", close);
        run.expect_counted(transport_close::slow_consumer, "after closing the ping flooder");
    } else if (pongs > pings / 2) {
        fail(
            "a client that did not read sent {} pings and later got {} pongs: every pong was kept for it. Pongs owed "
            "must be coalesced (RFC 6455 5.5.3) or count against the outgoing bound (close 1008)",
            pings, pongs);
    } else {
        // Still open: it must still work.
        // Pongs still on their way (a loaded machine may pause longer than the
        // second above) come before the answer; the answer is the text frame.
        // The answer may also wait behind pings the server has not read yet
        // (on a loaded machine it reads 12 MB of them slowly): twice the wait.
        const bool written = flooder->raw.write(detail::RawClient::frame(0x1, "{"), k.timeout);
        auto deadline = Clock::now() + 2 * k.timeout;
        auto reply = flooder->raw.next_frame(2 * k.timeout);
        while (reply && reply->opcode == 0xA && Clock::now() < deadline) {
            ++pongs;
            reply = flooder->raw.next_frame(std::chrono::duration_cast<ms>(deadline - Clock::now()));
        }
        if (pongs > pings / 2) fail("a client that did not read sent {} pings and later got {} pongs", pings, pongs);
        if (reply && reply->opcode == 0x8) {
            close = detail::parse_close(reply->payload).code;
        }
        if (close != 0 || flooder->raw.ended()) {
            // Closed as too slow after all, later than the pongs showed.
            if (close != 0 && close != close_code::policy_violation)
                fail("a ping flood may close the flooder only as too slow (1008), but the server closed with {}",
                     close);
            run.expect_counted(transport_close::slow_consumer, "after closing the ping flooder");
        } else {
            json m = reply ? json::parse(reply->payload, nullptr, false) : json();
            if (!m.is_object() || m.value("code", "") != "invalid-json")
                fail(
                    "after its pings were answered ({} pongs), the flooder expected an invalid-json error, but got {} "
                    "({}; {})",
                    pongs, reply ? reply->payload : "nothing",
                    written ? "its `{` was written" : "its `{` could not be written: " + flooder->raw.error(),
                    flooder->raw.error().empty() ? "no read error" : flooder->raw.error());
        }
    }
    auto a = run.connect("alice");
    auto b = run.connect("bob");
    run.roundtrip(a, b, "other users carry on after a ping flood");
}

void close_while_blocked(const Target& t, const KitOptions& k) {
    TransportSettings settings = small_queue();
    settings.handshake_timeout = 1000ms;
    Run run(t, k, quiet_hub(), settings);
    auto closer = raw_join(run, "a client that stopped reading");
    auto sender = run.connect("sender");
    auto watcher = run.connect("watcher");
    run.expect_presence(sender, "user-joined", watcher.id, "watcher joined");
    flood_until_busy(run, sender, closer->id, "filling the queue of a client that stopped reading");
    // Its writes blocked, the server still reads: the close frame must take the user out.
    std::string close_frame = detail::RawClient::frame(0x8, std::string("\x03\xe8", 2));
    if (!closer->raw.write(close_frame, k.timeout)) fail("could not send the close frame: {}", closer->raw.error());
    auto bound = settings.handshake_timeout + 1500ms;  // and time to be scheduled, under a sanitizer too
    run.expect_presence(watcher, "user-left", closer->id,
                        "a client that sent a close frame must leave the room even while the server cannot write to "
                        "it (within the closing-handshake timeout)",
                        bound);
    if (!closer->raw.wait_closed(2 * settings.handshake_timeout + k.timeout))
        fail(
            "after a close frame, the server must end the TCP connection within its closing-handshake timeout even "
            "when the client does not read; it stayed open");
    run.roundtrip(sender, watcher, "the others carry on");
}

void bad_upgrades(const Target& t, const KitOptions& k) {
    Run run(t, k, quiet_hub(), {});
    struct Case {
        std::string request;
        const char* what;
    } cases[] = {
        {detail::RawClient::upgrade_request("/", "c2hvcnQ="), "a Sec-WebSocket-Key of 5 bytes"},
        {detail::RawClient::upgrade_request("/", "dGhlIHNhbXBsZSBub25jZQ"), "a Sec-WebSocket-Key without padding"},
        {detail::RawClient::upgrade_request("/", "dGhlIHNhbXBsZSBub25jZSE="), "a Sec-WebSocket-Key of 17 bytes"},
        {detail::RawClient::upgrade_request("/", "dGhlIHNhbXBsZSBub25jZQ==", false),
         "an HTTP/1.1 upgrade without Host"},
    };
    for (auto& c : cases) {
        detail::RawClient raw;
        if (!raw.connect(run.port, 0, k.timeout)) fail("cannot connect: {}", raw.error());
        int status = raw.request(c.request, k.timeout);
        if (status != 400)
            fail("an upgrade with {} must get HTTP 400 (RFC 6455 4.2.1, RFC 9112), but got {}", c.what,
                 status == 0 ? std::string("no answer") : std::to_string(status));
    }
    if (run.hub().counters().connections_total != 0) fail("a refused upgrade must not join the hub");
}

void dead_peer(const Target& t, const KitOptions& k) {
    TransportSettings settings;
    settings.idle_timeout = 1000ms;
    settings.handshake_timeout = 1000ms;
    auto options = quiet_hub();
    options.resume_window = 500ms;  // a dead peer is a lost connection: it leaves once the window ends
    Run run(t, k, options, settings);
    ConnectOptions deaf;
    deaf.keep_reading = false;  // reads its login, then answers nothing, not even pings
    auto dead = run.connect("a client that stopped answering", "/", deaf);
    auto alive = run.connect("a quiet but live client");
    auto begin = Clock::now();
    auto limit = k.timeout + 2 * settings.idle_timeout + 2 * settings.handshake_timeout + options.resume_window;
    run.expect_presence(alive, "user-left", dead.id,
                        "with idle_timeout 1000 ms, a client that answers no pings must be dropped", limit);
    auto took = std::chrono::duration_cast<ms>(Clock::now() - begin);
    run.expect_counted(transport_close::keepalive_timeout, "after dropping the silent client");
    // The live client sent nothing either, but answered pings: it must still be there.
    std::this_thread::sleep_for(std::max(ms(0), 2 * settings.idle_timeout - took));
    auto other = run.connect("a newcomer");
    if (other.login["users"] != json::array({alive.id}))
        fail("a client that answers pings must survive idle periods: expected the room to hold only user {}, got {}",
             alive.id, other.login.dump());
    run.roundtrip(other, alive, "the quiet live client still receives");
}

void lost_connection(const Target& t, const KitOptions& k) {
    auto options = quiet_hub();
    options.resume_window = 1000ms;
    Run run(t, k, options, {});
    auto a = run.connect("alice");
    auto b = run.connect("bob");
    run.expect_presence(a, "user-joined", b.id, "bob joined alice's room");
    if (!b.login.contains("resume") || !b.login["resume"].is_string())
        fail("bob's login should carry a resume token (resume is on): {}", b.login.dump());
    const auto token = b.login["resume"].get<std::string>();
    b.client->abort();
    // The adapter must report the broken connection as Departure::lost.
    run.expect_nothing(a, 300ms,
                       "bob's connection broke without a close frame: within the resume window alice must hear "
                       "nothing (does the adapter pass Departure::lost to Hub::leave?)");
    run.send(a, offer(b.id));
    run.expect_nothing(a, 100ms, "a message to bob while he is away is kept for him, not refused");
    auto back = run.connect("bob, resuming", "/?resume=" + token);
    if (back.id != b.id || back.login.value("resumed", false) != true)
        fail("bob's resume should keep user ID {} and say \"resumed\":true; got {}", b.id, back.login.dump());
    auto kept = run.expect(back, "peer-connect", "what alice sent while bob was away");
    if (kept.value("from", UserId(0)) != a.id) fail("the kept message should come from alice: {}", kept.dump());
    run.roundtrip(a, back, "alice reaches bob after his resume");
    // Past the window, a broken connection leaves like any other.
    auto c = run.connect("carol");
    run.expect_presence(a, "user-joined", c.id, "carol joined");
    c.client->abort();
    run.expect_presence(a, "user-left", c.id, "carol's connection broke and she did not resume within 1 s",
                        k.timeout + options.resume_window);
}

void concurrent_connects(const Target& t, const KitOptions& k) {
    auto options = quiet_hub();
    options.limits.max_users_per_room = k.concurrent_clients + 10;
    Run run(t, k, options, {});
    std::vector<User> users;
    for (std::size_t i = 0; i < k.concurrent_clients; ++i)
        users.push_back(run.open(fmt::format("concurrent client {}", i + 1)));
    std::set<UserId> ids;
    for (auto& u : users) {
        run.join(u);
        if (!ids.insert(u.id).second) fail("{} got user ID {}, which another concurrent client also got", u.name, u.id);
    }
    auto last = run.connect("a client after the burst");
    if (last.login["users"].size() != k.concurrent_clients)
        fail("after {} concurrent connects, the next login should list {} users, but listed {}", k.concurrent_clients,
             k.concurrent_clients, last.login["users"].size());
}

void clean_shutdown(const Target& t, const KitOptions& k) {
    Run run(t, k, quiet_hub(), {});
    std::vector<User> users;
    users.push_back(run.connect("alice", "/"));
    users.push_back(run.connect("bob", "/"));
    users.push_back(run.connect("carol", "/room/side"));
    run.stop();
    for (auto& u : users)
        run.expect_close(u, 1001, "the server was stopped");
    if (detail::port_accepts(run.port, 500ms))
        fail("after stop() returned, port {} still accepts connections", run.port);
}

/** A kit message the hub sends from the server: `type` kit-order, the sending thread, its sequence number. */
json numbered(int thread, int n) {
    return {{"type", "kit-order"}, {"thread", thread}, {"n", n}};
}

/**
 * Reads `expected` kit-order messages at `u` and checks that each thread's
 * arrive in the order it sent them, none missing: `sent[t]` lists the
 * numbers thread t had accepted (Hub::send_to said sent). Stops early at a
 * close when `until_close`; returns the close event's code then (0 if none).
 */
int expect_in_order(Run& run, User& u, const std::vector<std::vector<int>>& sent, std::string_view why,
                    bool until_close = false) {
    std::vector<std::size_t> next(sent.size(), 0);
    std::size_t expected = 0, got = 0;
    for (auto& s : sent)
        expected += s.size();
    Wait wait(run.kit.timeout + ms(expected));  // a millisecond a message on a slow machine, beyond the usual wait
    while (got < expected) {
        auto event = wait.next(u);
        if (!event)
            fail("{}: {} expected {} kit-order messages, but {} arrived and then nothing more within {} ms", why,
                 u.name, expected, got, wait.total.count());
        if (event->kind == Event::Kind::closed) {
            if (until_close) return event->close_code;
            fail("{}: {} expected {} kit-order messages, but after {} observed {}", why, u.name, expected, got,
                 describe(*event));
        }
        json m = json::parse(event->data, nullptr, false);
        if (event->kind != Event::Kind::text || !m.is_object() || m.value("type", "") != "kit-order") {
            if (event->kind == Event::Kind::text && m.is_object() && presence(m.value("type", ""))) continue;
            fail(
                "{}: {} expected only kit-order messages, but observed {} (a frame written from two threads at "
                "once arrives torn)",
                why, u.name, describe(*event));
        }
        auto thread = m.value("thread", -1);
        if (thread < 0 || static_cast<std::size_t>(thread) >= sent.size())
            fail("{}: {} received a kit-order message of an unknown thread: {}", why, u.name, m.dump());
        auto& from = sent[static_cast<std::size_t>(thread)];
        auto& at = next[static_cast<std::size_t>(thread)];
        auto n = m.value("n", -1);
        if (at >= from.size() || from[at] != n)
            fail("{}: {} expected message {} of thread {} next (each thread's in the order it sent them), but got {}",
                 why, u.name, at < from.size() ? std::to_string(from[at]) : std::string("none"), thread, n);
        ++at;
        ++got;
    }
    return 0;
}

void cross_thread_sends(const Target& t, const KitOptions& k) {
    TransportSettings settings;
    settings.queue_max_bytes = 16 * 1024 * 1024;  // room for everything: this clause is about threads, not bounds
    settings.queue_max_messages = 1'000'000;
    Run run(t, k, quiet_hub(), settings);
    auto alice = run.connect("alice");
    auto carol = run.connect("carol");  // closed from one of the threads while the others still send to her
    constexpr int threads = 4, each = 300;
    std::vector<std::vector<int>> to_alice(threads), to_carol(threads);
    std::atomic<int> ready{0};
    std::atomic<bool> closed_carol{false};
    std::vector<std::thread> senders;
    for (int i = 0; i < threads; ++i) {
        senders.emplace_back([&, i] {
            ready.fetch_add(1);
            while (ready.load() < threads) {
            }
            for (int n = 0; n < each; ++n) {
                if (run.hub().send_to(alice.id, numbered(i, n)) == SendResult::sent) to_alice[i].push_back(n);
                if (!closed_carol.load() && run.hub().send_to(carol.id, numbered(i, n)) == SendResult::sent)
                    to_carol[i].push_back(n);
                if (i == threads - 1 && n == each / 2) {
                    closed_carol = true;
                    run.hub().disconnect(carol.id, close_code::removed, "kit: closed from another thread");
                }
            }
        });
    }
    for (auto& s : senders)
        s.join();
    expect_in_order(run, alice, to_alice, "4 threads called Hub::send_to(alice) at once");
    std::size_t accepted = 0;
    for (auto& s : to_alice)
        accepted += s.size();
    if (accepted < static_cast<std::size_t>(threads * each / 2))
        fail(
            "the hub accepted only {} of {} messages for alice (Connection::offer refused the rest, with a 16 MiB "
            "queue)",
            accepted, threads * each);
    // Carol: what was sent before her close may arrive (each thread's in order); then the close, from a foreign thread.
    auto code = expect_in_order(run, carol, to_carol, "carol was closed from another thread while others sent", true);
    if (code == 0)
        run.expect_close(carol, close_code::removed, "Hub::disconnect(carol) from another thread");
    else if (code != close_code::removed)
        fail("carol expected a close frame with code {} (Hub::disconnect from another thread), but got {}",
             close_code::removed, code);
    auto bob = run.connect("bob");
    run.roundtrip(alice, bob, "after the threads: alice's connection still works");
}

void burst_order(const Target& t, const KitOptions& k) {
    TransportSettings settings;
    settings.queue_max_bytes = 16 * 1024 * 1024;
    settings.queue_max_messages = 1'000'000;
    Run run(t, k, quiet_hub(), settings);
    auto alice = run.connect("alice");
    auto bob = run.connect("bob");
    // The server's burst: one thread queues 400 messages at once, faster than any socket drains them.
    constexpr int burst = 400;
    std::vector<std::vector<int>> sent(1);
    for (int n = 0; n < burst; ++n)
        if (run.hub().send_to(alice.id, numbered(0, n)) == SendResult::sent) sent[0].push_back(n);
    expect_in_order(run, alice, sent, "the server queued 400 messages for alice at once");
    // A client's burst: bob writes 400 routed messages back to back; alice gets them in order.
    for (int n = 0; n < burst; ++n)
        run.send(bob, {{"type", "peer-candidate"}, {"to", alice.id}, {"n", n}, {"candidate", nullptr}});
    Wait wait(k.timeout + ms(burst));
    for (int n = 0; n < burst;) {
        auto event = wait.next(alice);
        if (!event) fail("alice expected bob's 400 peer-candidates, but only {} arrived", n);
        json m = json::parse(event->data, nullptr, false);
        if (event->kind == Event::Kind::text && m.is_object() && presence(m.value("type", ""))) continue;
        if (event->kind != Event::Kind::text || m.value("type", "") != "peer-candidate")
            fail("alice expected bob's peer-candidates, but observed {}", describe(*event));
        if (m.value("n", -1) != n)
            fail("alice expected bob's peer-candidate {} next (a burst arrives in order), but got {}", n, m.dump());
        ++n;
    }
}

void handshake_timeout(const Target& t, const KitOptions& k) {
    TransportSettings settings;
    settings.handshake_timeout = 500ms;
    Run run(t, k, quiet_hub(), settings);
    const ms allowed = settings.handshake_timeout + 1500ms;
    detail::RawClient half;
    if (!half.connect(run.port, 0, k.timeout)) fail("cannot connect: {}", half.error());
    if (!half.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n", k.timeout))
        fail("cannot write half a request: {}", half.error());
    if (!half.wait_closed(allowed))
        fail(
            "a client that sent half an upgrade request and then nothing was still connected {} ms later; "
            "handshake_timeout is {} ms",
            allowed.count(), settings.handshake_timeout.count());
    if (run.hub().counters().connections_total != 0) fail("a half request must not join the hub");
    run.connect("alice");  // the server still serves
}

void shutdown_bound(const Target& t, const KitOptions& k) {
    TransportSettings settings;
    settings.close_timeout = 500ms;
    Run run(t, k, quiet_hub(), settings);
    std::vector<User> deaf;
    ConnectOptions never_answers;
    never_answers.keep_reading = false;  // reads its login, then nothing: the close frame goes unanswered
    for (int i = 0; i < 5; ++i)
        deaf.push_back(run.connect(fmt::format("deaf client {}", i + 1), "/", never_answers));
    auto bound = settings.close_timeout + 1000ms;
    auto begin = Clock::now();
    run.stop();
    auto took = std::chrono::duration_cast<ms>(Clock::now() - begin);
    if (took > bound)
        fail(
            "with 5 clients that never answer the close frame, Target::stop took {} ms; with close_timeout {} ms "
            "it must return within {} ms",
            took.count(), settings.close_timeout.count(), bound.count());
    if (detail::port_accepts(run.port, 500ms))
        fail("after stop() returned, port {} still accepts connections", run.port);
}

struct Clause {
    const char* name;
    const char* promise;
    void (*check)(const Target&, const KitOptions&);
};

const std::vector<Clause>& clauses() {
    static const std::vector<Clause> all = {
        {"login", "every connection first gets login; IDs are distinct and never reused", login},
        {"routing", "routed messages reach `to` with `to` removed and `from` set by the server", routing},
        {"pass-through", "members the server does not know reach the recipient, their values byte for byte",
         pass_through},
        {"presence", "user-joined and user-left reach the rest of the room", presence_clause},
        {"errors", "each hub error code comes back over the wire and the connection stays usable", errors},
        {"rate-limited", "a client over its message rate gets rate-limited", rate_limited},
        {"room-full", "a user beyond the room's limit gets room-full, then close 1013", room_full},
        {"too-many-rooms", "a user opening a room beyond the limit gets too-many-rooms, then close 1013",
         too_many_rooms},
        {"handshake-refusals", "unknown path: HTTP 404; foreign Origin or denied authorize: HTTP 403 with the reason",
         handshake_refusals},
        {"rooms-isolation", "users see and reach only their own room", rooms_isolation},
        {"oversized-message", "a message over the transport limit closes with 1009", oversized_message},
        {"binary-frame", "a binary frame closes with 1003", binary_frame},
        {"slow-consumer", "a client that stops reading is dropped once the server's own messages overflow its queue",
         slow_consumer},
        {"busy-recipient", "messages to a client that stopped reading get recipient-busy; it is not closed for them",
         busy_recipient},
        {"burst-to-reader", "one user's largest burst never gets a reading recipient closed", burst_to_reader},
        {"ping-flood", "a client that floods pings without reading costs a bounded number of pongs", ping_flood},
        {"close-while-blocked", "a close frame takes the user out even while the server cannot write to it",
         close_while_blocked},
        {"bad-upgrades", "a malformed Sec-WebSocket-Key or a missing Host gets HTTP 400", bad_upgrades},
        {"dead-peer", "a client that answers no pings is dropped; quiet live clients stay", dead_peer},
        {"lost-connection",
         "a connection dropped without a close frame may resume (same ID, kept messages); others hear nothing",
         lost_connection},
        {"concurrent-connects", "clients connecting at once all get distinct IDs", concurrent_connects},
        {"clean-shutdown", "stop() closes every client with 1001 and stops listening", clean_shutdown},
        {"cross-thread-sends",
         "send and close from several foreign threads at once: each thread's messages arrive whole and in order",
         cross_thread_sends},
        {"burst-order", "a burst queued at once, by the server or by a client, arrives in order", burst_order},
        {"handshake-timeout", "a client that sends half an upgrade request is dropped after handshake_timeout",
         handshake_timeout},
        {"shutdown-bound", "stop() returns within close_timeout + 1 s even when no client answers the close frame",
         shutdown_bound},
    };
    return all;
}

}  // namespace

bool Report::passed() const {
    return !clauses.empty() && std::all_of(clauses.begin(), clauses.end(), [](auto& c) { return c.passed; });
}

std::string Report::text() const {
    std::string out;
    std::size_t failed = 0;
    for (auto& c : clauses) {
        if (c.passed) {
            out += fmt::format("PASS {} ({} ms)\n", c.name, c.duration.count());
        } else {
            ++failed;
            out += fmt::format("FAIL {}: {}\n     checks that {}\n", c.name, c.failure, c.promise);
        }
    }
    out += fmt::format("{} of {} clauses passed\n", clauses.size() - failed, clauses.size());
    return out;
}

std::vector<std::string> clause_names() {
    std::vector<std::string> names;
    for (auto& c : clauses())
        names.emplace_back(c.name);
    return names;
}

Report run_conformance(const Target& target, const KitOptions& options) {
    if (!target.start || !target.stop) throw std::invalid_argument("a conformance Target needs both start and stop");
    auto names = clause_names();
    for (auto& only : options.only)
        if (std::find(names.begin(), names.end(), only) == names.end())
            throw std::invalid_argument("no conformance clause is named '" + only + "'");
    Report report;
    for (auto& clause : clauses()) {
        if (!options.only.empty() &&
            std::find(options.only.begin(), options.only.end(), clause.name) == options.only.end())
            continue;
        ClauseResult result{clause.name, clause.promise, false, {}, {}};
        auto begin = Clock::now();
        try {
            clause.check(target, options);
            result.passed = true;
        } catch (const Failure& f) {
            result.failure = f.what();
        } catch (const std::exception& e) {
            result.failure = fmt::format("unexpected exception: {}", e.what());
        }
        result.duration = std::chrono::duration_cast<ms>(Clock::now() - begin);
        report.clauses.push_back(std::move(result));
    }
    return report;
}

int run_conformance_main(const Target& target, int argc, const char* const* argv, std::ostream& out) {
    KitOptions options;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--only" && i + 1 < argc) {
            options.only.emplace_back(argv[++i]);
        } else if (arg == "--timeout-ms" && i + 1 < argc) {
            options.timeout = ms(std::stol(argv[++i]));
        } else if (arg == "--verbose") {
            options.log_sink = stderr_log_sink();
            options.log_level = LogLevel::debug;
        } else {
            out << "usage: " << (argc > 0 ? argv[0] : "conformance")
                << " [--only CLAUSE]... [--timeout-ms N] [--verbose]\nclauses:";
            for (auto& n : clause_names())
                out << ' ' << n;
            out << '\n';
            return 2;
        }
    }
    Report report;
    try {
        report = run_conformance(target, options);
    } catch (const std::invalid_argument& e) {
        out << e.what() << '\n';
        return 2;
    }
    out << report.text() << std::flush;
    return report.passed() ? 0 : 1;
}

int run_conformance_main(const Target& target, int argc, const char* const* argv) {
    return run_conformance_main(target, argc, argv, std::cout);
}

}  // namespace switchboard::testing

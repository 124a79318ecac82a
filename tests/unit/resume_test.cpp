// Resume: a user whose socket was lost (Departure::lost) keeps its ID, its
// place in the room and the messages routed to it, for Options::resume_window.
#include <algorithm>
#include <chrono>
#include <thread>

#include "unit_helpers.hpp"

using namespace switchboard;
using namespace switchboard::test;
using namespace std::chrono_literals;

namespace {

/** Joins `path` again with `?resume=<token>`. */
TestUser rejoin(Hub& hub, const std::string& token, std::string path = "/") {
    return join_with(hub, with_query("resume=" + token, std::move(path)));
}

/** Waits (at most 5 s) until `done()`. */
template <class F>
bool eventually(F done) {
    for (int i = 0; i < 500; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return done();
}

/**
 * Sends `text` as `from`, which overflows the messages kept for a lost
 * user, and returns the codes `from` then receives: the `recipient-busy`
 * error and the `user-left` of the user given up. The resume timer thread
 * gives the user up, so the two may come in either order; they are sorted.
 */
std::vector<std::string> overflow(Hub& hub, const TestUser& from, std::string_view text) {
    from.connection->take();
    from.send(hub, text);
    std::vector<json> got;
    eventually([&] {
        for (auto& m : from.connection->take())
            got.push_back(m);
        return got.size() >= 2;
    });
    INFO("received: " << json(got).dump());
    std::vector<std::string> codes;
    for (auto& m : got)
        codes.push_back(m.value("type", "") == "error" ? m.value("code", "") : m.value("type", ""));
    std::sort(codes.begin(), codes.end());
    return codes;
}

Options window(std::chrono::milliseconds w) {
    Options o;
    o.resume_window = w;
    return o;
}

}  // namespace

TEST_CASE("a lost user resumes with its ID, gets what was routed meanwhile in order, and nobody noticed", "[resume]") {
    Hub hub;
    auto users = join_quietly(hub, 3);
    auto &a = users[0], &b = users[1], &c = users[2];
    b.connection->take();
    b.send(hub, peer_connect(a.id()));
    auto token = a.connection->resume_token();
    REQUIRE(!token.empty());
    a.connection->take();

    hub.leave(*a.session, Departure::lost);
    CHECK(hub.counters().sessions_suspended == 1);
    CHECK(hub.counters().connections_open == 3);
    // Routed to it while away: kept, in order; the senders hear nothing.
    b.send(hub, peer_connect(a.id(), R"(,"n":1)"));
    c.send(hub, peer_connect(a.id(), R"(,"n":2)"));
    b.send(hub, peer_connect(a.id(), R"(,"n":3)"));
    auto d = join(hub);  // a newcomer meanwhile
    REQUIRE(d.session);
    d.send(hub, peer_connect(a.id(), R"(,"n":4)"));
    CHECK(b.connection->take() == std::vector<json>{json::parse(R"({"type":"user-joined","userId":4,"profile":{}})")});
    CHECK(c.connection->take().size() == 1);  // the newcomer's user-joined, nothing else
    CHECK(a.connection->take().empty());      // the old socket gets nothing more

    auto back = rejoin(hub, token);
    CHECK(back.id() == a.id());
    auto got = back.connection->take();
    REQUIRE(got.size() == 5);
    CHECK(got[0] == json::parse(R"({"type":"login","userId":1,"users":[2,3,4],"profile":{},
                                    "profiles":{"2":{},"3":{},"4":{}},"resume":"<token>","resumed":true})"));
    for (int n = 1; n <= 4; ++n) {
        INFO(got[static_cast<std::size_t>(n)].dump());
        CHECK(got[static_cast<std::size_t>(n)].at("n") == n);
        CHECK(got[static_cast<std::size_t>(n)].at("type") == "peer-connect");
    }
    CHECK(got[1].at("from") == b.id());
    CHECK(got[2].at("from") == c.id());
    CHECK(got[4].at("from") == d.id());
    CHECK(back.connection->resume_token() != token);
    // Nobody heard of the blip, and the resumed user is reachable as before.
    CHECK(b.connection->take().empty());
    CHECK(c.connection->take().empty());
    b.send(hub, peer_connect(a.id(), R"(,"n":5)"));
    CHECK(take_one(back).at("n") == 5);
    back.send(hub, peer_connect(b.id()));
    CHECK(take_one(b).at("from") == a.id());
    auto counters = hub.counters();
    CHECK(counters.sessions_suspended == 0);
    CHECK(counters.sessions_resumed == 1);
    CHECK(counters.connections_open == 4);
}

TEST_CASE("a close handshake leaves at once, whatever the resume window", "[resume]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    hub.leave(*users[0].session, Departure::closed);
    CHECK(take_one(users[1]) == json::parse(R"({"type":"user-left","userId":1})"));
    CHECK(hub.counters().sessions_suspended == 0);
    auto again = rejoin(hub, users[0].connection->resume_token());
    CHECK(again.id() != users[0].id());
}

TEST_CASE("past the window the user leaves, and its token then joins afresh with resume-failed", "[resume]") {
    Hub hub(window(150ms));
    auto users = join_quietly(hub, 2);
    auto token = users[0].connection->resume_token();
    hub.leave(*users[0].session, Departure::lost);
    CHECK(users[1].connection->take().empty());
    REQUIRE(eventually([&] { return users[1].connection->last().value("type", "") == "user-left"; }));
    CHECK(take_one(users[1]) == json::parse(R"({"type":"user-left","userId":1})"));
    CHECK(hub.counters().sessions_suspended == 0);
    CHECK(hub.counters().connections_open == 1);

    auto late = rejoin(hub, token);
    CHECK(late.id() == 3);
    auto got = late.connection->take();
    REQUIRE(got.size() == 2);
    CHECK(got[0].at("type") == "login");
    CHECK_FALSE(got[0].contains("resumed"));
    CHECK(got[1].at("code") == "resume-failed");
    CHECK(got[1].at("message").get<std::string>().find("its 0.15 s have passed") != std::string::npos);
    CHECK(errors_counted(hub, "resume-failed") == 1);
}

TEST_CASE("a resume token is single-use, bound to its room, and must be exact", "[resume]") {
    Hub hub;
    auto a = join(hub, "/room/lobby");
    a.connection->take();
    auto token = a.connection->resume_token();
    REQUIRE(!token.empty());
    hub.leave(*a.session, Departure::lost);

    auto resume_error = [&](const std::string& t, const std::string& path) {
        auto u = rejoin(hub, t, path);
        auto got = u.connection->take();
        REQUIRE(got.size() == 2);
        CHECK(got[0].at("type") == "login");
        CHECK(got[1].at("code") == "resume-failed");
        hub.leave(*u.session);
        return got[1].at("message").get<std::string>();
    };
    CHECK(resume_error(token, "/room/kitchen").find("room 'lobby'") != std::string::npos);
    auto flipped = token;
    flipped.back() = flipped.back() == '0' ? '1' : '0';
    CHECK(resume_error(flipped, "/room/lobby").find("unknown") != std::string::npos);
    CHECK(resume_error("1.abc", "/room/lobby").find("malformed") != std::string::npos);
    CHECK(resume_error("x" + token, "/room/lobby").find("malformed") != std::string::npos);
    CHECK(resume_error(token + "0", "/room/lobby").find("malformed") != std::string::npos);

    // The failures did not use it up; the right room and token still resume, once.
    auto back = rejoin(hub, token, "/room/lobby");
    CHECK(back.id() == a.id());
    hub.leave(*back.session, Departure::lost);
    CHECK(resume_error(token, "/room/lobby").find("unknown") != std::string::npos);
}

TEST_CASE("more routed to a lost user than it may keep: the sender gets recipient-busy, the user leaves",
          "[resume][limits]") {
    Options o;
    o.limits.resume_max_messages = 3;
    Hub hub(o);
    auto users = join_quietly(hub, 2);
    hub.leave(*users[0].session, Departure::lost);
    for (int i = 0; i < 3; ++i)
        users[1].send(hub, peer_connect(users[0].id()));
    CHECK(users[1].connection->take().empty());
    CHECK(overflow(hub, users[1], peer_connect(users[0].id())) ==
          std::vector<std::string>{"recipient-busy", "user-left"});
    auto all = users[1].connection->messages();
    CHECK(std::count(all.begin(), all.end(), json::parse(R"({"type":"user-left","userId":1})")) == 1);
    CHECK(hub.counters().connections_open == 1);
}

TEST_CASE("the kept bytes are bounded too", "[resume][limits]") {
    Options o;
    o.limits.resume_max_bytes = 400;
    Hub hub(o);
    auto users = join_quietly(hub, 2);
    hub.leave(*users[0].session, Departure::lost);
    const std::string padding = R"(,"pad":")" + std::string(100, 'x') + "\"";
    users[1].send(hub, peer_connect(users[0].id(), padding));
    users[1].send(hub, peer_connect(users[0].id(), padding));
    CHECK(users[1].connection->take().empty());
    CHECK(overflow(hub, users[1], peer_connect(users[0].id(), padding)) ==
          std::vector<std::string>{"recipient-busy", "user-left"});
}

TEST_CASE("with resume off, login has no token and a lost socket leaves at once", "[resume]") {
    Hub hub(window(0ms));
    auto users = join_quietly(hub, 2);
    CHECK(users[0].connection->resume_token().empty());
    CHECK_FALSE(users[0].connection->messages().at(0).contains("resume"));
    hub.leave(*users[0].session, Departure::lost);
    CHECK(take_one(users[1]) == json::parse(R"({"type":"user-left","userId":1})"));
    auto u = rejoin(hub, "1.00000000000000000000000000000000");
    auto got = u.connection->take();
    REQUIRE(got.size() == 2);
    CHECK(got[1].at("code") == "resume-failed");
}

TEST_CASE("a local participant gets no resume token", "[resume][local]") {
    Hub hub;
    std::vector<json> inbox;
    auto host = hub.join_local("", [&](const json& m) { inbox.push_back(m); });
    REQUIRE(inbox.size() == 1);
    CHECK_FALSE(inbox[0].contains("resume"));
}

TEST_CASE("the hub destroyed with users still waiting to resume", "[resume]") {
    auto hub = std::make_unique<Hub>();
    auto users = join_quietly(*hub, 2);
    hub->leave(*users[0].session, Departure::lost);
    hub.reset();  // joins the timer thread; nothing is announced to a hub that is gone
    CHECK(users[1].connection->take().empty());
}

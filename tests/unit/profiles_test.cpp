// User profiles (Verdict::profile, Options::allow_client_names) and the ICE
// servers hook: what `login` and `user-joined` carry.
#include <atomic>
#include <stdexcept>

#include "unit_helpers.hpp"

using namespace switchboard;
using namespace switchboard::test;

TEST_CASE("every login and user-joined carries the users' profiles, {} for none", "[profiles]") {
    Hub hub;
    hub.on_authorize([](const Handshake& h) {
        if (h.query_param("who") == "ann") return Verdict::allow({{"name", "Ann"}, {"avatar", 3}});
        return Verdict::allow();
    });
    auto ann = join_with(hub, with_query("who=ann"));
    CHECK(take_one(ann) == json::parse(R"({"type":"login","userId":1,"users":[],"profile":{"name":"Ann","avatar":3},
                                           "profiles":{},"resume":"<token>"})"));
    auto anon = join_with(hub, with_query(""));
    CHECK(take_one(anon) == json::parse(R"({"type":"login","userId":2,"users":[1],"profile":{},
                                            "profiles":{"1":{"name":"Ann","avatar":3}},"resume":"<token>"})"));
    CHECK(take_one(ann) == json::parse(R"({"type":"user-joined","userId":2,"profile":{}})"));
    auto third = join_with(hub, with_query("who=ann"));
    CHECK(take_one(third).at("profiles") == json::parse(R"({"1":{"name":"Ann","avatar":3},"2":{}})"));
    CHECK(take_one(anon) == json::parse(R"({"type":"user-joined","userId":3,"profile":{"name":"Ann","avatar":3}})"));
    ann.connection->take();
    // user-left stays as it was.
    hub.leave(*third.session);
    CHECK(take_one(ann) == json::parse(R"({"type":"user-left","userId":3})"));
}

TEST_CASE("a client proposes its name only when the server allows it", "[profiles]") {
    SECTION("not allowed: the name is ignored") {
        Hub hub;
        auto admission = hub.admit(with_query("name=Mallory"));
        CHECK(admission.profile() == "{}");
    }
    SECTION("allowed: decoded and trimmed") {
        Hub hub(names_allowed());
        CHECK(hub.admit(with_query("name=Ann")).profile() == R"({"name":"Ann"})");
        CHECK(hub.admit(with_query("x=1&name=++Jos%C3%A9+Mar%C3%ADa%20&y=2")).profile() ==
              "{\"name\":\"Jos\xc3\xa9 Mar\xc3\xad"
              "a\"}");
        CHECK(hub.admit(with_query("")).profile() == "{}");
    }
    SECTION("the server's profile keeps its own name") {
        Hub hub(names_allowed());
        hub.on_authorize([](const Handshake&) { return Verdict::allow({{"name", "Verified"}}); });
        CHECK(hub.admit(with_query("name=Impostor")).profile() == R"({"name":"Verified"})");
    }
    SECTION("a profile without a name takes the client's") {
        Hub hub(names_allowed());
        hub.on_authorize([](const Handshake&) { return Verdict::allow({{"team", "red"}}); });
        CHECK(hub.admit(with_query("name=Bo")).profile() == R"({"name":"Bo","team":"red"})");
    }
}

TEST_CASE("a bad name refuses the handshake with 400 and a reason", "[profiles]") {
    Hub hub(names_allowed());
    struct Case {
        const char* query;
        const char* reason;
    };
    const Case cases[] = {
        {"name=%01bell", "U+0001"},
        {"name=tab%09", "U+0009"},
        {"name=%7F", "U+007F"},
        {"name=%C2%85", "U+0085"},                // C1 next line
        {"name=evil%E2%80%AEgpj.exe", "U+202E"},  // right-to-left override
        {"name=a%E2%80%A8b", "U+2028"},
        {"name=+++", "empty"},
        {"name=%FF", "UTF-8"},
        {"name=%C0%AF", "UTF-8"},  // overlong
        {"name=%4", "percent-encoded"},
        {"name=%G1", "percent-encoded"},
    };
    for (const auto& c : cases) {
        INFO(c.query);
        auto refused = hub.admit(with_query(c.query));
        CHECK(refused.status() == 400);
        CHECK(refused.reason().find(c.reason) != std::string::npos);
    }
    std::string sixty_four(64, 'x');
    CHECK(hub.admit(with_query("name=" + sixty_four)));
    // 65 code points, two bytes each.
    std::string long_name;
    for (int i = 0; i < 65; ++i)
        long_name += "%C3%A9";
    auto refused = hub.admit(with_query("name=" + long_name));
    CHECK(refused.status() == 400);
    CHECK(refused.reason() == "the name has 65 characters; the limit is 64");
    // The refusal is counted, and a good handshake still gets in.
    CHECK(hub.counters().connections_refused == 12);
    CHECK(join_with(hub, with_query("name=Ann")).id() == 1);
}

TEST_CASE("a profile over the size limit refuses the handshake, a hook's non-object is the server's fault",
          "[profiles]") {
    Options options;
    options.limits.max_profile_bytes = 32;
    Hub hub(options);
    hub.on_authorize([](const Handshake& h) {
        if (h.query_param("p") == "big") return Verdict::allow({{"bio", std::string(40, 'b')}});
        if (h.query_param("p") == "array") return Verdict::allow(json::array({1, 2}));
        return Verdict::allow({{"bio", "short"}});
    });
    auto big = hub.admit(with_query("p=big"));
    CHECK(big.status() == 400);
    CHECK(big.reason() == "the user's profile is 50 bytes; the limit is 32");
    auto array = hub.admit(with_query("p=array"));
    CHECK(array.status() == 500);
    CHECK(hub.admit(with_query("p=ok")));
}

TEST_CASE("a local participant has a profile too", "[profiles][local]") {
    Hub hub;
    auto user = join(hub);
    user.connection->take();
    std::vector<json> inbox;
    auto host = hub.join_local("", [&](const json& m) { inbox.push_back(m); }, Hub::LocalId::host,
                               {{"name", "Host"}, {"bot", true}});
    REQUIRE(inbox.size() == 1);
    CHECK(inbox[0].at("profile") == json({{"name", "Host"}, {"bot", true}}));
    CHECK(inbox[0].at("profiles") == json::parse(R"({"1":{}})"));
    CHECK(take_one(user) == json::parse(R"({"type":"user-joined","userId":0,"profile":{"name":"Host","bot":true}})"));
    CHECK_THROWS_AS(hub.join_local("", {}, Hub::LocalId::fresh, json::array()), std::invalid_argument);
    CHECK_THROWS_AS(hub.join_local("", {}, Hub::LocalId::fresh, {{"x", std::string(2000, 'x')}}),
                    std::invalid_argument);
}

TEST_CASE("join and leave observers see the profile", "[profiles]") {
    Hub hub(names_allowed());
    std::vector<std::string> seen;
    hub.on_join([&](const UserEvent& e) { seen.push_back("join " + e.profile); });
    hub.on_leave([&](const UserEvent& e) { seen.push_back("leave " + e.profile); });
    auto u = join_with(hub, with_query("name=Ann"));
    hub.leave(*u.session);
    CHECK(seen == std::vector<std::string>{R"(join {"name":"Ann"})", R"(leave {"name":"Ann"})"});
}

TEST_CASE("login carries the ICE servers the hook computes for each user", "[ice]") {
    Options options;
    std::atomic<int> calls{0};
    options.ice_servers = [&](std::uint64_t user, const std::string& room) {
        ++calls;
        if (room == "quiet") return std::vector<IceServer>{};
        return std::vector<IceServer>{{{"stun:127.0.0.1:3478"}, "", ""},
                                      {{"turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"},
                                       "user-" + std::to_string(user),
                                       "secret"}};
    };
    Hub hub(options);
    auto a = join(hub);
    CHECK(take_one(a).at("iceServers") == json::parse(R"([{"urls":["stun:127.0.0.1:3478"]},
        {"urls":["turn:127.0.0.1:3478?transport=udp","turn:127.0.0.1:3478?transport=tcp"],
         "username":"user-1","credential":"secret"}])"));
    auto b = join(hub);
    CHECK(take_one(b).at("iceServers").at(1).at("username") == "user-2");
    auto quiet = join(hub, "/room/quiet");
    CHECK_FALSE(take_one(quiet).contains("iceServers"));
    CHECK(calls == 3);
}

TEST_CASE("an ICE servers hook that throws leaves iceServers out, the user still joins", "[ice]") {
    Options options;
    options.ice_servers = [](std::uint64_t, const std::string&) -> std::vector<IceServer> {
        throw std::runtime_error("the credential service is down");
    };
    Hub hub(options);
    auto a = join(hub);
    REQUIRE(a.session);
    auto login = take_one(a);
    CHECK(login.at("type") == "login");
    CHECK_FALSE(login.contains("iceServers"));
}

TEST_CASE("without hooks, login has the seed's members plus empty profiles", "[profiles]") {
    Hub hub;
    auto a = join(hub);
    CHECK(take_one(a) ==
          json::parse(R"({"type":"login","userId":1,"users":[],"profile":{},"profiles":{},"resume":"<token>"})"));
}

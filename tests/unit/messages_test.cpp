// The built-in message structs: to_json/from_json round trips and the wire
// shape each produces, plus the validators the hub registers for them.
#include <switchboard/messages.hpp>

#include "unit_helpers.hpp"

using namespace switchboard;
using namespace switchboard::messages;
using nlohmann::json;

namespace {

std::optional<Error> check_description(std::string_view text) {
    auto view = MessageView::parse(text, 32);
    REQUIRE(view);
    return validate_description_message(*view);
}

std::optional<Error> check_candidate(std::string_view text) {
    auto view = MessageView::parse(text, 32);
    REQUIRE(view);
    return validate_candidate_message(*view);
}

}  // namespace

TEST_CASE("Login serialises as the wire shape and round-trips", "[messages]") {
    Login login;
    login.user_id = 7;
    login.users = {0, 3, 5};
    login.profile = {{"name", "Ann"}};
    login.profiles = {{0, json::object()}, {3, {{"name", "Bo"}}}, {5, json::object()}};
    json j = login;
    CHECK(j == json::parse(R"({"type":"login","userId":7,"users":[0,3,5],"profile":{"name":"Ann"},
                                "profiles":{"0":{},"3":{"name":"Bo"},"5":{}}})"));
    auto back = j.get<Login>();
    CHECK(back.user_id == 7);
    CHECK(back.users == std::vector<UserId>{0, 3, 5});
    CHECK(back.profiles.at(3) == json{{"name", "Bo"}});
    CHECK(back.ice_servers.is_null());

    Login first;
    first.user_id = 1;
    json empty = first;
    CHECK(empty.at("users") == json::array());
    CHECK_FALSE(empty.contains("iceServers"));

    // What a seed-era server sends still reads.
    auto seed = json::parse(R"({"type":"login","userId":2,"users":[1]})").get<Login>();
    CHECK(seed.users == std::vector<UserId>{1});
    CHECK(seed.profile == json::object());
    CHECK(seed.profiles.empty());

    Login with_ice;
    with_ice.ice_servers = json::parse(R"([{"urls":["stun:127.0.0.1:3478"]}])");
    CHECK(json(with_ice).at("iceServers") == with_ice.ice_servers);
}

TEST_CASE("PeerConnect and PeerResponse carry to or from only when set", "[messages]") {
    PeerConnect offer;
    offer.to = 3;
    offer.desc = {"offer", "v=0\r\n"};
    json j = offer;
    CHECK(j == json::parse(R"({"type":"peer-connect","to":3,"desc":{"type":"offer","sdp":"v=0\r\n"}})"));
    CHECK_FALSE(j.contains("from"));

    auto received = json::parse(R"({"from":7,"type":"peer-connect","desc":{"type":"offer","sdp":"x"}})");
    auto parsed = received.get<PeerConnect>();
    CHECK(parsed.from == UserId{7});
    CHECK_FALSE(parsed.to);
    CHECK(parsed.desc.type == "offer");
    CHECK(parsed.desc.sdp == "x");
    CHECK(json(parsed) == received);

    PeerResponse answer;
    answer.from = 3;
    answer.desc = {"answer", "v=0"};
    json a = answer;
    CHECK(a == json::parse(R"({"type":"peer-response","from":3,"desc":{"type":"answer","sdp":"v=0"}})"));
    auto back = a.get<PeerResponse>();
    CHECK(back.from == UserId{3});
    CHECK_FALSE(back.to);
    CHECK(back.desc.type == "answer");
}

TEST_CASE("from_json of a routed message reuses no stale addressing", "[messages]") {
    PeerConnect m;
    m.to = 9;
    m.from = 8;
    json::parse(R"({"type":"peer-connect","desc":{"type":"offer","sdp":""}})").get_to(m);
    CHECK_FALSE(m.to);
    CHECK_FALSE(m.from);
}

TEST_CASE("from_json rejects a routed message without a desc", "[messages]") {
    CHECK_THROWS(json::parse(R"({"type":"peer-connect","to":1})").get<PeerConnect>());
    CHECK_THROWS(json::parse(R"({"type":"peer-response","to":1,"desc":{"type":"answer"}})").get<PeerResponse>());
}

TEST_CASE("PeerCandidate round-trips an RTCIceCandidateInit and null", "[messages]") {
    json init = {
        {"candidate", "candidate:1 1 udp 2122260223 127.0.0.1 51234 typ host"}, {"sdpMid", "0"}, {"sdpMLineIndex", 0}};
    PeerCandidate c{5, std::nullopt, init};
    json j = c;
    CHECK(j.at("type") == "peer-candidate");
    CHECK(j.at("to") == 5);
    CHECK(j.at("candidate") == init);
    CHECK(j.get<PeerCandidate>().candidate == init);

    PeerCandidate end{5, std::nullopt, nullptr};
    json e = end;
    REQUIRE(e.contains("candidate"));
    CHECK(e.at("candidate").is_null());
    CHECK(e.get<PeerCandidate>().candidate.is_null());
    CHECK_THROWS(json::parse(R"({"type":"peer-candidate","to":5})").get<PeerCandidate>());
}

TEST_CASE("UserJoined and UserLeft serialise as presence messages", "[messages]") {
    json joined = UserJoined{8, {{"name", "Cy"}}};
    CHECK(joined == json::parse(R"({"type":"user-joined","userId":8,"profile":{"name":"Cy"}})"));
    CHECK(joined.get<UserJoined>().profile == json{{"name", "Cy"}});
    CHECK(json::parse(R"({"type":"user-joined","userId":8})").get<UserJoined>().profile == json::object());
    CHECK(joined.get<UserJoined>().user_id == 8);
    json left = UserLeft{3};
    CHECK(left == json::parse(R"({"type":"user-left","userId":3})"));
    CHECK(left.get<UserLeft>().user_id == 3);
}

TEST_CASE("ErrorMessage nests type and to under request, only when known", "[messages]") {
    ErrorMessage full{"unknown-recipient", "user 42 is not in this room", "peer-connect", 42};
    json j = full;
    CHECK(j == json::parse(R"({"type":"error","code":"unknown-recipient","message":"user 42 is not in this room",
                               "request":{"type":"peer-connect","to":42}})"));
    auto back = j.get<ErrorMessage>();
    CHECK(back.code == "unknown-recipient");
    CHECK(back.message == "user 42 is not in this room");
    CHECK(back.request_type == std::optional<std::string>("peer-connect"));
    CHECK(back.request_to == std::optional<UserId>(42));

    json bare = ErrorMessage{"invalid-json", "not JSON", std::nullopt, std::nullopt};
    CHECK_FALSE(bare.contains("request"));
    auto bare_back = bare.get<ErrorMessage>();
    CHECK_FALSE(bare_back.request_type);
    CHECK_FALSE(bare_back.request_to);

    json type_only = ErrorMessage{"unknown-type", "no", "x", std::nullopt};
    CHECK(type_only.at("request") == json::parse(R"({"type":"x"})"));
    json to_only = ErrorMessage{"forbidden", "no", std::nullopt, 0};
    CHECK(to_only.at("request") == json::parse(R"({"to":0})"));
}

TEST_CASE("validate_description_message accepts the four RTCSdpTypes", "[messages][validation]") {
    for (const char* type : {"offer", "answer", "pranswer", "rollback"}) {
        INFO(type);
        CHECK_FALSE(check_description(fmt::format(R"({{"desc":{{"type":"{}","sdp":""}}}})", type)));
    }
    CHECK_FALSE(check_description(R"({"desc":{"sdp":"v=0","type":"offer","extra":1}})"));
    CHECK_FALSE(check_description(R"({"desc":{"\u0073dp":"v=0","type":"off\u0065r"}})"));
}

TEST_CASE("validate_description_message rejects malformed descriptions", "[messages][validation]") {
    const char* bad[] = {
        R"({})",
        R"({"desc":null})",
        R"({"desc":"v=0"})",
        R"({"desc":[]})",
        R"({"desc":{"type":"offer"}})",
        R"({"desc":{"type":"offer","sdp":null}})",
        R"({"desc":{"type":"offer","sdp":1}})",
        R"({"desc":{"sdp":"v=0"}})",
        R"({"desc":{"type":"Offer","sdp":"v=0"}})",
        R"({"desc":{"type":"candidate","sdp":"v=0"}})",
        R"({"desc":{"type":1,"sdp":"v=0"}})",
    };
    for (const char* text : bad) {
        INFO(text);
        auto error = check_description(text);
        REQUIRE(error);
        CHECK(error->code == errc::invalid_message);
        CHECK_FALSE(error->message.empty());
    }
}

TEST_CASE("validate_candidate_message accepts an init object or null", "[messages][validation]") {
    CHECK_FALSE(check_candidate(R"({"candidate":null})"));
    CHECK_FALSE(check_candidate(R"({"candidate":{"candidate":""}})"));
    CHECK_FALSE(
        check_candidate(R"({"candidate":{"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host","sdpMid":"0"}})"));
}

TEST_CASE("validate_candidate_message rejects anything else", "[messages][validation]") {
    for (const char* text :
         {R"({})", R"({"candidate":"candidate:1"})", R"({"candidate":{}})", R"({"candidate":{"candidate":null}})",
          R"({"candidate":{"candidate":5}})", R"({"candidate":[]})", R"({"candidate":false})"}) {
        INFO(text);
        auto error = check_candidate(text);
        REQUIRE(error);
        CHECK(error->code == errc::invalid_message);
    }
}

TEST_CASE("ID constants match the protocol", "[messages]") {
    CHECK(max_user_id == 9007199254740991ULL);
    CHECK(host_user_id == 0);
}

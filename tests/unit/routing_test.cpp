// Routing of the built-in client messages: to is removed, from is set by the
// server, and every other member passes through as written.
#include <string>

#include "unit_helpers.hpp"

using namespace switchboard;
using namespace switchboard::test;
using nlohmann::json;

TEST_CASE("peer-connect reaches its recipient with from set and to removed", "[routing]") {
    Hub hub;
    auto users = join_quietly(hub, 3);
    auto &a = users[0], &b = users[1], &c = users[2];
    a.send(hub,
           R"({"type":"peer-connect","to":2,"desc":{"type":"offer","sdp":"v=0\r\no=- 4611 2 IN IP4 127.0.0.1\r\n"}})");
    auto got = take_one(b);
    CHECK(
        got ==
        json::parse(
            R"({"from":1,"type":"peer-connect","desc":{"type":"offer","sdp":"v=0\r\no=- 4611 2 IN IP4 127.0.0.1\r\n"}})"));
    CHECK(a.connection->take().empty());
    CHECK(c.connection->take().empty());
}

TEST_CASE("peer-response travels back to the offerer", "[routing]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    auto &a = users[0], &b = users[1];
    a.send(hub, peer_connect(b.id()));
    auto offer = take_one(b);
    REQUIRE(offer.at("from") == a.id());
    b.send_json(
        hub, {{"type", "peer-response"}, {"to", offer.at("from")}, {"desc", {{"type", "answer"}, {"sdp", "v=0\r\n"}}}});
    auto answer = take_one(a);
    CHECK(answer ==
          json({{"type", "peer-response"}, {"from", b.id()}, {"desc", {{"type", "answer"}, {"sdp", "v=0\r\n"}}}}));
}

TEST_CASE("every RTCSdpType is routed in peer-connect and peer-response", "[routing]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    for (const char* type : {"peer-connect", "peer-response"}) {
        for (const char* sdp_type : {"offer", "answer", "pranswer", "rollback"}) {
            INFO(type << " " << sdp_type);
            users[0].send(hub,
                          fmt::format(R"({{"type":"{}","to":2,"desc":{{"type":"{}","sdp":""}}}})", type, sdp_type));
            auto got = take_one(users[1]);
            CHECK(got.at("type") == type);
            CHECK(got.at("desc").at("type") == sdp_type);
            CHECK(users[0].connection->take().empty());
        }
    }
}

TEST_CASE("peer-candidate routes a candidate object and the end-of-candidates null", "[routing]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    auto &a = users[0], &b = users[1];
    a.send(
        hub,
        R"({"type":"peer-candidate","to":2,"candidate":{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 51234 typ host","sdpMid":"0","sdpMLineIndex":0}})");
    CHECK(
        b.connection->texts().back() ==
        R"({"from":1,"type":"peer-candidate","candidate":{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 51234 typ host","sdpMid":"0","sdpMLineIndex":0}})");
    a.send(hub, R"({"type":"peer-candidate","to":2,"candidate":null})");
    CHECK(b.connection->texts().back() == R"({"from":1,"type":"peer-candidate","candidate":null})");
    CHECK(b.connection->take().size() == 2);
    CHECK(a.connection->take().empty());
}

TEST_CASE("messages from one sender arrive in the order sent", "[routing]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    for (int i = 0; i < 20; ++i)
        users[0].send(hub, peer_connect(2, fmt::format(R"(,"seq":{})", i)));
    auto got = users[1].connection->take();
    REQUIRE(got.size() == 20);
    for (int i = 0; i < 20; ++i)
        CHECK(got[static_cast<std::size_t>(i)].at("seq") == i);
}

TEST_CASE("a type spelled with escapes is validated and routed as that type", "[routing]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    users[0].send(hub, R"({"type":"peer\u002dcandidate","to":2,"candidate":null})");
    CHECK(take_one(users[1]).at("type") == "peer-candidate");
    CHECK(error_code(hub, users[0], R"({"type":"peer\u002dconnect","to":2})") == "invalid-message");
}

TEST_CASE("a user may address itself", "[routing]") {
    Hub hub;
    auto users = join_quietly(hub, 1);
    users[0].send(hub, peer_connect(users[0].id()));
    CHECK(take_one(users[0]).at("from") == users[0].id());
}

TEST_CASE("every member other than to and from passes through as written", "[routing][preservation]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    auto &a = users[0], &b = users[1];
    const std::string members =
        R"("type":"peer-connect","desc":{ "sdp" : "v=0\r\n\u00e9" , "type":"offer" ,"x":[1, 2.0, -0, 1E2]},)"
        R"("n":1.50e+10,"big":123456789012345678901234567890,"tiny":-1.0e-300,"neg":-0.0,)"
        "\"text\":\"h\xC3\xA9llo \xF0\x9F\x98\x80 \\ud83d\\ude00 \\\"q\\\" \\/\","
        R"("nested":{"from":5,"to":6,"a":{"b":[{"c":null}]}},"flag":false,"empty":{},"list":[],"":"")";
    a.send(hub, "{\"to\":2," + members + "}");
    REQUIRE(b.connection->take().size() == 1);
    auto texts = b.connection->texts();
    CHECK(texts.back() == "{\"from\":1," + members + "}");
    // And what the recipient's parser reads is the sender's message minus `to`, plus `from`.
    auto sent = json::parse("{\"to\":2," + members + "}");
    sent.erase("to");
    sent["from"] = 1;
    CHECK(json::parse(texts.back()) == sent);
}

TEST_CASE("whitespace around members may change but values stay byte for byte", "[routing][preservation]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    users[0].send(
        hub,
        "\n{ \"type\" : \"peer-connect\" ,\t\"to\" : 2 , \"desc\" : { \"type\" : \"offer\", \"sdp\" : \"\" } }\r\n");
    CHECK(users[1].connection->texts().back() ==
          R"({"from":1,"type":"peer-connect","desc":{ "type" : "offer", "sdp" : "" }})");
}

TEST_CASE("a from sent by a client is replaced by the sender's ID", "[routing][spoofing]") {
    Hub hub;
    auto users = join_quietly(hub, 3);
    auto &a = users[0], &b = users[1];
    for (std::string spoof : {R"("from":3)", R"("from":"3")", R"("from":null)", R"("from":{"id":3})"}) {
        INFO(spoof);
        for (bool before : {true, false}) {
            std::string text = before
                                   ? "{" + spoof + R"(,"type":"peer-connect","to":2,"desc":{"type":"offer","sdp":""}})"
                                   : peer_connect(2, "," + spoof);
            a.send(hub, text);
            auto raw = b.connection->texts().back();
            auto got = take_one(b);
            CHECK(got.at("from") == a.id());
            CHECK(raw.find("\"from\"") == raw.rfind("\"from\""));  // exactly one from
            CHECK(raw.find("\"to\"") == std::string::npos);
        }
    }
}

TEST_CASE("an escaped from key cannot survive as a second from", "[routing][spoofing]") {
    Hub hub;
    auto users = join_quietly(hub, 3);
    auto &a = users[0], &b = users[1];
    for (const char* key : {R"(fr\u006fm)", R"(\u0066rom)", R"(\u0066\u0072\u006F\u006D)"}) {
        INFO(key);
        a.send(hub, peer_connect(2, fmt::format(R"(,"{}":3)", key)));
        auto raw = b.connection->texts().back();
        // What the recipient's JSON parser sees: one from, the sender's.
        auto parsed = take_one(b);
        CHECK(parsed.at("from") == a.id());
        CHECK(raw.find(key) == std::string::npos);
    }
}

TEST_CASE("an escaped to key addresses the message and is removed", "[routing][spoofing]") {
    Hub hub;
    auto users = join_quietly(hub, 3);
    users[0].send(hub, R"({"type":"peer-connect","t\u006f":3,"desc":{"type":"offer","sdp":""}})");
    CHECK(users[1].connection->take().empty());
    auto got = take_one(users[2]);
    CHECK(got.at("from") == 1);
    CHECK_FALSE(got.contains("to"));
    CHECK(users[2].connection->texts().back().find("t\\u006f") == std::string::npos);
}

TEST_CASE("a message with a duplicate member name reaches nobody", "[routing][duplicates]") {
    Hub hub;
    auto users = join_quietly(hub, 3);
    auto &a = users[0], &b = users[1], &c = users[2];
    const char* texts[] = {
        // A forged server message for a recipient whose parser keeps the first `type`.
        R"({"type":"user-left","userId":5,"type":"peer-candidate","to":3,"candidate":null})",
        R"({"type":"peer-connect","to":2,"to":3,"desc":{"type":"offer","sdp":""}})",
        // The first desc was never validated.
        R"({"type":"peer-connect","to":2,"desc":{"type":"offer"},"desc":{"type":"offer","sdp":"ok"}})",
        R"({"type":"peer-connect","to":2,"desc":{"type":"offer","sdp":"","sdp":"x"}})",
        R"({"type":"peer-candidate","to":2,"candidate":{"candidate":"a","candidate":"b"}})",
        R"({"type":"peer-connect","to":2,"desc":{"type":"offer","sdp":""},"x-app":[{"k":1,"k":2}]})",
    };
    for (const char* text : texts) {
        INFO(text);
        auto e = error_for(hub, a, text);
        CHECK(e.at("code") == "invalid-message");
        CHECK(e.at("message").get<std::string>().find("appears twice") != std::string::npos);
        CHECK(b.connection->take().empty());
        CHECK(c.connection->take().empty());
    }
    // The sender carries on.
    a.send(hub, peer_connect(2));
    CHECK(take_one(b).at("from") == 1);
}

TEST_CASE("routing to ID 0 works when the host participant is in the room", "[routing]") {
    Hub hub;
    auto users = join_quietly(hub, 1);
    std::vector<json> got;
    auto host = hub.join_local("", [&](const json& m) { got.push_back(m); });
    users[0].connection->take();
    users[0].send(hub, peer_connect(0));
    REQUIRE(got.size() == 2);
    CHECK(got[1].at("type") == "peer-connect");
    CHECK(got[1].at("from") == users[0].id());
    CHECK(users[0].connection->take().empty());
}

TEST_CASE("the routed text is the sent text with to swapped for from, and is counted", "[routing]") {
    Hub hub;
    auto users = join_quietly(hub, 2);
    auto text = peer_connect(2);
    users[0].send(hub, text);
    auto delivered = users[1].connection->texts().back();
    CHECK(delivered.size() == text.size() - std::string(R"("to":2,)").size() + std::string(R"("from":1,)").size());
    CHECK(hub.counters().bytes_routed == delivered.size());
    CHECK(hub.counters().messages_routed == 1);
}

TEST_CASE("a recipient whose connection refuses a routed message: recipient-busy for the sender only",
          "[routing][backpressure]") {
    Hub hub;
    auto users = join_quietly(hub, 3);
    auto &a = users[0], &b = users[1], &c = users[2];
    b.connection->refuse_offers(true);
    auto e = error_for(hub, a, peer_connect(b.id()));
    CHECK(e.at("code") == "recipient-busy");
    CHECK(e.at("request") == json{{"type", "peer-connect"}, {"to", b.id()}});
    CHECK(errors_counted(hub, "recipient-busy") == 1);
    CHECK(b.connection->take().empty());
    CHECK_FALSE(b.connection->closed());
    // Messages from the server itself are not refused: presence still reaches b.
    auto d = join(hub);
    REQUIRE(d.session);
    auto presence = take_one(b);
    CHECK(presence.at("type") == "user-joined");
    a.connection->take();
    c.connection->take();
    // Others are unaffected, and b gets routed messages again once it takes them.
    a.send(hub, peer_connect(c.id()));
    CHECK(take_one(c).at("from") == a.id());
    b.connection->refuse_offers(false);
    a.send(hub, peer_connect(b.id()));
    CHECK(take_one(b).at("from") == a.id());
    CHECK(a.connection->take().empty());
}

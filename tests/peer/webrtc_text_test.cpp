// The texts the host peer translates: SDP candidates, ICE server URLs, frames.
#include "catch.hpp"

#include "peer/webrtc_text.hpp"

using namespace switchboard::peer::detail;
using nlohmann::json;

namespace {

const char* const offer =
    "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sctp-port:5000\r\n";

}  // namespace

TEST_CASE("descriptions with and without candidates", "[peer]") {
    CHECK_FALSE(has_candidates(offer));
    auto full = with_candidates(offer, {{0, "candidate:1 1 UDP 2015363327 127.0.0.1 50000 typ host"},
                                        {0, "candidate:2 1 TCP 1015021823 127.0.0.1 9 typ host tcptype active"}});
    CHECK(has_candidates(full));
    CHECK(full == std::string(offer) +
                      "a=candidate:1 1 UDP 2015363327 127.0.0.1 50000 typ host\r\n"
                      "a=candidate:2 1 TCP 1015021823 127.0.0.1 9 typ host tcptype active\r\n"
                      "a=end-of-candidates\r\n");
    // Candidates already inside are not repeated, end-of-candidates stays single.
    CHECK(with_candidates(full, {{0, "candidate:1 1 UDP 2015363327 127.0.0.1 50000 typ host"}}) == full);
    // A candidate for an m-line the description lacks is left out.
    CHECK(with_candidates(offer, {{3, "candidate:9 1 UDP 1 127.0.0.1 1 typ host"}}) ==
          std::string(offer) + "a=end-of-candidates\r\n");
}

TEST_CASE("mids and m-line indexes", "[peer]") {
    std::string two = std::string(offer) + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:data\r\n";
    CHECK(mid_of(two, 0) == "0");
    CHECK(mid_of(two, 1) == "data");
    CHECK(mid_of(two, 2).empty());
    CHECK(mline_of(two, "data") == 1u);
    CHECK(mline_of(two, "0") == 0u);
    CHECK_FALSE(mline_of(two, "audio").has_value());
}

TEST_CASE("a login's iceServers in webrtcbin's spelling", "[peer]") {
    auto uris = ice_uris(json::parse(R"([
        {"urls":["stun:stun.example.org:3478","stun:second.example.org"]},
        {"urls":"turn:turn.example.org:3478?transport=udp","username":"1767225600:7","credential":"a/b+c="},
        {"urls":["turns:turn.example.org:5349"],"username":"u","credential":"p"},
        {"urls":["turn:no-credentials.example.org"]},
        "not an object", {"urls":42}
    ])"));
    CHECK(uris.stun == "stun://stun.example.org:3478");
    CHECK(uris.turn ==
          std::vector<std::string>{"turn://1767225600%3A7:a%2Fb%2Bc%3D@turn.example.org:3478?transport=udp",
                                   "turns://u:p@turn.example.org:5349"});
    CHECK(ice_uris(json()).stun.empty());
}

TEST_CASE("the browser client's frames", "[peer]") {
    CHECK(json::parse(ready_frame()) == json{{"type", "ready"}});
    CHECK(json::parse(message_frame({{"a", 1}})) == json{{"type", "message"}, {"data", {{"a", 1}}}});
    CHECK(parse_frame(R"({"type":"ready"})").kind == Frame::ready);
    auto m = parse_frame(R"({"type":"message","data":"hi"})");
    CHECK(m.kind == Frame::message);
    CHECK(m.data == "hi");
    CHECK(parse_frame(R"({"type":"message"})").data.is_null());
    CHECK(parse_frame(R"({"type":"other"})").kind == Frame::unknown);
    CHECK(parse_frame("not json").kind == Frame::not_json);
}

// Realistic signalling payloads shared by the micro-benchmarks and the load
// generator: a Chrome-style offer/answer with audio, video and a data
// channel, and a host ICE candidate.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace switchboard::bench {

/** A unified-plan offer as a current Chrome writes it (audio + video + SCTP), about 3.5 KB of SDP (a 3.7 KB
 * peer-connect). */
inline constexpr std::string_view offer_sdp =
    "v=0\r\n"
    "o=- 4215775240449105457 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1 2\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS 3c7b1f0e-5d2a-4a47-9a3e-2f9d1c4b8e61\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Zx9q\r\n"
    "a=ice-pwd:9tYk2m1LrQe7bVw4sHn0PdJc\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:"
    "19:08\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=sendrecv\r\n"
    "a=msid:3c7b1f0e-5d2a-4a47-9a3e-2f9d1c4b8e61 8f0c2d6a-1b3e-4c5d-9e7f-a1b2c3d4e5f6\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\n"
    "a=fmtp:63 111/111\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:13 CN/8000\r\n"
    "a=rtpmap:110 telephone-event/48000\r\n"
    "a=rtpmap:126 telephone-event/8000\r\n"
    "a=ssrc:2754151622 cname:Yq3uZ8vJ0fK1sL2m\r\n"
    "a=ssrc:2754151622 msid:3c7b1f0e-5d2a-4a47-9a3e-2f9d1c4b8e61 8f0c2d6a-1b3e-4c5d-9e7f-a1b2c3d4e5f6\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Zx9q\r\n"
    "a=ice-pwd:9tYk2m1LrQe7bVw4sHn0PdJc\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:"
    "19:08\r\n"
    "a=setup:actpass\r\n"
    "a=mid:1\r\n"
    "a=extmap:14 urn:ietf:params:rtp-hdrext:toffset\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=extmap:13 urn:3gpp:video-orientation\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=sendrecv\r\n"
    "a=msid:3c7b1f0e-5d2a-4a47-9a3e-2f9d1c4b8e61 0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f7\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtcp-fb:96 goog-remb\r\n"
    "a=rtcp-fb:96 transport-cc\r\n"
    "a=rtcp-fb:96 ccm fir\r\n"
    "a=rtcp-fb:96 nack\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n"
    "a=rtpmap:102 H264/90000\r\n"
    "a=rtcp-fb:102 transport-cc\r\n"
    "a=rtcp-fb:102 nack pli\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=rtpmap:103 rtx/90000\r\n"
    "a=fmtp:103 apt=102\r\n"
    "a=rtpmap:104 VP9/90000\r\n"
    "a=rtcp-fb:104 transport-cc\r\n"
    "a=rtcp-fb:104 nack pli\r\n"
    "a=fmtp:104 profile-id=0\r\n"
    "a=rtpmap:105 rtx/90000\r\n"
    "a=fmtp:105 apt=104\r\n"
    "a=rtpmap:106 AV1/90000\r\n"
    "a=rtcp-fb:106 transport-cc\r\n"
    "a=rtcp-fb:106 nack pli\r\n"
    "a=rtpmap:107 rtx/90000\r\n"
    "a=fmtp:107 apt=106\r\n"
    "a=rtpmap:108 red/90000\r\n"
    "a=rtpmap:109 rtx/90000\r\n"
    "a=fmtp:109 apt=108\r\n"
    "a=rtpmap:127 ulpfec/90000\r\n"
    "a=rtpmap:125 flexfec-03/90000\r\n"
    "a=ssrc-group:FID 1967834525 3140951245\r\n"
    "a=ssrc:1967834525 cname:Yq3uZ8vJ0fK1sL2m\r\n"
    "a=ssrc:1967834525 msid:3c7b1f0e-5d2a-4a47-9a3e-2f9d1c4b8e61 0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f7\r\n"
    "a=ssrc:3140951245 cname:Yq3uZ8vJ0fK1sL2m\r\n"
    "a=ssrc:3140951245 msid:3c7b1f0e-5d2a-4a47-9a3e-2f9d1c4b8e61 0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f7\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Zx9q\r\n"
    "a=ice-pwd:9tYk2m1LrQe7bVw4sHn0PdJc\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:"
    "19:08\r\n"
    "a=setup:actpass\r\n"
    "a=mid:2\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:262144\r\n";

/** `sdp` escaped as the body of a JSON string (the SDP has only CR/LF to escape). */
inline std::string json_escaped(std::string_view sdp) {
    std::string out;
    out.reserve(sdp.size() + sdp.size() / 16);
    for (char c : sdp) {
        if (c == '\r')
            out += "\\r";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' || c == '\\')
            out += '\\', out += c;
        else
            out += c;
    }
    return out;
}

/** A peer-connect (or peer-response when `answer`) carrying the offer SDP, addressed to `to`. */
inline std::string description_message(std::uint64_t to, bool answer = false) {
    std::string m = answer ? R"({"type":"peer-response","to":)" : R"({"type":"peer-connect","to":)";
    m += std::to_string(to);
    m += answer ? R"(,"desc":{"type":"answer","sdp":")" : R"(,"desc":{"type":"offer","sdp":")";
    m += json_escaped(offer_sdp);
    m += "\"}}";
    return m;
}

/** A trickled host candidate (about 150 bytes), addressed to `to`. */
inline std::string candidate_message(std::uint64_t to) {
    return R"({"type":"peer-candidate","to":)" + std::to_string(to) +
           R"(,"candidate":{"candidate":"candidate:842163049 1 udp 2122260223 192.168.1.23 54321 typ host generation 0",)"
           R"("sdpMid":"0","sdpMLineIndex":0}})";
}

}  // namespace switchboard::bench

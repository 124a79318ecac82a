// Internal to switchboard_testing: the client's side of RFC 6455, shared by
// the kit's two clients (client.cpp, raw_client.cpp) and by its own test
// adapter: client frames, the server frames they read, close payloads and
// the Sec-WebSocket-Accept check. No Boost, no OpenSSL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::testing::detail {

namespace opcode {
inline constexpr int continuation = 0x0;
inline constexpr int text = 0x1;
inline constexpr int binary = 0x2;
inline constexpr int close = 0x8;
inline constexpr int ping = 0x9;
inline constexpr int pong = 0xA;
}  // namespace opcode

/** One frame as it came (a fragment of a message when `fin` is false). */
struct Frame {
    int opcode = 0;
    bool fin = true;
    std::string payload;
};

/**
 * A frame as a client sends it: FIN set, masked with a zero key (so the
 * payload goes out as it is, and a reader sees it as written), any length.
 */
std::string client_frame(int opcode, std::string_view payload);

/** The same framing unmasked, as a server sends it (the kit's test adapter). */
std::string server_frame(int opcode, std::string_view payload);

/** A close frame's payload: the code (big-endian), then the reason. */
std::string close_payload(int code, std::string_view reason = {});

/** The code of a close payload (1005 when it has none) and its reason. */
struct CloseReason {
    int code = 1005;
    std::string reason;
};
CloseReason parse_close(std::string_view payload);

/**
 * Takes the first frame off `buffer` when it is complete. `from_server`:
 * frames must be unmasked; otherwise (the test adapter reading clients)
 * they must be masked, and are unmasked here. Sets `error` (and returns
 * nullopt) for a frame RFC 6455 forbids: reserved bits, a wrong mask bit, a
 * fragmented or oversized control frame, an unknown opcode.
 */
std::optional<Frame> take_frame(std::string& buffer, bool from_server, std::string& error);

/** The Sec-WebSocket-Accept a server must answer to `key` (RFC 6455 4.2.2): base64(SHA-1(key + GUID)). */
std::string websocket_accept(std::string_view key);

/** Base64 with padding (RFC 4648 section 4). */
std::string base64(std::string_view bytes);

/** The status code of an HTTP response head ("HTTP/1.1 101 ..."), 0 when it has none. */
int status_code(std::string_view head);

/** The value of header `name` (case-insensitive) in an HTTP head, trimmed; nullopt when absent. */
std::optional<std::string> header_value(std::string_view head, std::string_view name);

}  // namespace switchboard::testing::detail

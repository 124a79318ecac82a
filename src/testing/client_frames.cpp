#include "client_frames.hpp"

#include <array>

#include "../detail/ascii.hpp"

namespace switchboard::testing::detail {

namespace {

std::string frame(int opcode, std::string_view payload, bool masked) {
    std::string f;
    f.push_back(static_cast<char>(0x80 | opcode));
    const char mask_bit = masked ? '\x80' : '\0';
    const std::uint64_t n = payload.size();
    if (n < 126) {
        f.push_back(static_cast<char>(mask_bit | static_cast<char>(n)));
    } else if (n <= 0xffff) {
        f.push_back(static_cast<char>(mask_bit | 126));
        f.push_back(static_cast<char>(n >> 8));
        f.push_back(static_cast<char>(n));
    } else {
        f.push_back(static_cast<char>(mask_bit | 127));
        for (int i = 7; i >= 0; --i)
            f.push_back(static_cast<char>(n >> (8 * i)));
    }
    if (masked) f.append(4, '\0');  // a zero key: the payload goes out unchanged
    f.append(payload);
    return f;
}

std::uint32_t rotate_left(std::uint32_t x, int n) {
    return (x << n) | (x >> (32 - n));
}

/** SHA-1 (FIPS 180-4), only for the handshake's accept key: not for anything secret. */
std::array<unsigned char, 20> sha1(std::string_view input) {
    std::uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    std::string m(input);
    const std::uint64_t bits = static_cast<std::uint64_t>(input.size()) * 8;
    m.push_back('\x80');
    while (m.size() % 64 != 56)
        m.push_back('\0');
    for (int i = 7; i >= 0; --i)
        m.push_back(static_cast<char>(bits >> (8 * i)));
    for (std::size_t block = 0; block < m.size(); block += 64) {
        std::uint32_t w[80];
        for (int t = 0; t < 16; ++t) {
            auto byte = [&](int k) {
                return static_cast<std::uint32_t>(static_cast<unsigned char>(m[block + 4 * t + k]));
            };
            w[t] = (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
        }
        for (int t = 16; t < 80; ++t)
            w[t] = rotate_left(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int t = 0; t < 80; ++t) {
            std::uint32_t f, k;
            if (t < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999;
            } else if (t < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1;
            } else if (t < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDC;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6;
            }
            std::uint32_t next = rotate_left(a, 5) + f + e + k + w[t];
            e = d;
            d = c;
            c = rotate_left(b, 30);
            b = a;
            a = next;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
    }
    std::array<unsigned char, 20> digest{};
    for (int i = 0; i < 20; ++i)
        digest[i] = static_cast<unsigned char>(h[i / 4] >> (24 - 8 * (i % 4)));
    return digest;
}

}  // namespace

std::string client_frame(int opcode, std::string_view payload) {
    return frame(opcode, payload, true);
}

std::string server_frame(int opcode, std::string_view payload) {
    return frame(opcode, payload, false);
}

std::string close_payload(int code, std::string_view reason) {
    std::string p;
    p.push_back(static_cast<char>(code >> 8));
    p.push_back(static_cast<char>(code & 0xff));
    p.append(reason);
    return p;
}

CloseReason parse_close(std::string_view payload) {
    if (payload.size() < 2) return {};
    return {(static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]),
            std::string(payload.substr(2))};
}

std::optional<Frame> take_frame(std::string& buffer, bool from_server, std::string& error) {
    if (buffer.size() < 2) return std::nullopt;
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(buffer[i]); };
    const int op = byte(0) & 0x0f;
    const bool fin = (byte(0) & 0x80) != 0;
    const bool masked = (byte(1) & 0x80) != 0;
    if (byte(0) & 0x70) {
        error = "a frame with reserved bits set (no extension was negotiated)";
        return std::nullopt;
    }
    if (masked == from_server) {
        error = from_server ? "a masked frame from the server (RFC 6455 5.1)" : "an unmasked frame from a client";
        return std::nullopt;
    }
    const bool control = op >= 0x8;
    if (op != opcode::continuation && op != opcode::text && op != opcode::binary && op != opcode::close &&
        op != opcode::ping && op != opcode::pong) {
        error = "a frame with the unknown opcode " + std::to_string(op);
        return std::nullopt;
    }
    std::uint64_t length = byte(1) & 0x7f;
    std::size_t header = 2;
    if (length == 126) header = 4;
    if (length == 127) header = 10;
    if (control && (!fin || length > 125)) {
        error = "a fragmented or oversized control frame";
        return std::nullopt;
    }
    if (masked) header += 4;
    if (buffer.size() < header) return std::nullopt;
    if (header - (masked ? 4 : 0) > 2) {
        length = 0;
        for (std::size_t i = 2; i < header - (masked ? 4 : 0); ++i)
            length = (length << 8) | byte(i);
    }
    if (buffer.size() - header < length) return std::nullopt;
    Frame f{op, fin, buffer.substr(header, static_cast<std::size_t>(length))};
    if (masked) {
        const std::size_t key = header - 4;
        for (std::size_t i = 0; i < f.payload.size(); ++i)
            f.payload[i] = static_cast<char>(f.payload[i] ^ buffer[key + i % 4]);
    }
    buffer.erase(0, header + static_cast<std::size_t>(length));
    return f;
}

std::string base64(std::string_view bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                          (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
        for (int s = 18; s >= 0; s -= 6)
            out.push_back(alphabet[(v >> s) & 63]);
    }
    if (i < bytes.size()) {
        std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
        if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        out.push_back(alphabet[(v >> 18) & 63]);
        out.push_back(alphabet[(v >> 12) & 63]);
        out.push_back(i + 1 < bytes.size() ? alphabet[(v >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

std::string websocket_accept(std::string_view key) {
    auto digest = sha1(std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    return base64(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

int status_code(std::string_view head) {
    auto space = head.find(' ');
    if (space == std::string_view::npos || head.size() < space + 4) return 0;
    int code = 0;
    for (char c : head.substr(space + 1, 3)) {
        if (c < '0' || c > '9') return 0;
        code = code * 10 + (c - '0');
    }
    return code;
}

std::optional<std::string> header_value(std::string_view head, std::string_view name) {
    std::size_t at = head.find("\r\n");  // skip the request or status line
    while (at != std::string_view::npos && at + 2 < head.size()) {
        at += 2;
        auto end = head.find("\r\n", at);
        auto line = head.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
        auto colon = line.find(':');
        if (colon != std::string_view::npos &&
            switchboard::detail::equal_ignoring_ascii_case(
                switchboard::detail::trim_http_whitespace(line.substr(0, colon)), name))
            return std::string(switchboard::detail::trim_http_whitespace(line.substr(colon + 1)));
        at = end;
    }
    return std::nullopt;
}

}  // namespace switchboard::testing::detail

// Internal to switchboard_beast: RFC 6455 framing, all of it in one place.
//
// The session speaks WebSocket itself once Beast has answered the upgrade:
// this header holds the opcodes and close codes, the headers of the frames
// the server writes (unmasked, never fragmented), close payloads, and the
// reader of what a client sends.
//
// The reader takes whatever one read brought and handles every complete
// frame in it in one pass (unmasked in place, whole messages passed on
// without a copy), so a read that brought ten candidates routes ten
// candidates before anything is written. What it enforces, each failure
// naming the close code to send:
//   - client frames are masked, reserved bits are clear (no extension is
//     ever negotiated), opcodes are known: otherwise 1002;
//   - control frames are final and at most 125 bytes; a close frame carries
//     a valid code and a UTF-8 reason: otherwise 1002 (1007 for the reason);
//   - continuation frames follow a started message, and a new message does
//     not start inside one: otherwise 1002;
//   - a message longer than the limit fails as soon as a header says so: 1009;
//   - a text message is valid UTF-8: otherwise 1007.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <switchboard/errors.hpp>

#include "../detail/utf8.hpp"

namespace switchboard::beast::detail {

using switchboard::detail::valid_utf8;

/** Frame opcodes (RFC 6455 5.2). */
enum class Opcode : std::uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

/** Close codes only the framing uses (RFC 6455 7.4.1); those the hub uses too are in switchboard::close_code. */
namespace close_status {
inline constexpr int protocol_error = 1002;      ///< the client broke RFC 6455
inline constexpr int no_status_received = 1005;  ///< a close frame without a code; never sent
inline constexpr int invalid_payload = 1007;     ///< text that is not UTF-8
}  // namespace close_status

/** A code a close frame may carry (RFC 6455 7.4). */
constexpr bool valid_close_code(int code) noexcept {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
}

/** Control frames carry at most this many payload bytes. */
inline constexpr std::size_t max_control_payload = 125;

/** The header of a frame the server writes: final, unmasked, 2 to 10 bytes. */
struct FrameHeader {
    std::array<char, 10> bytes;
    std::uint8_t size;
};

constexpr FrameHeader server_frame_header(Opcode opcode, std::uint64_t length) noexcept {
    FrameHeader h{{}, 0};
    h.bytes[0] = static_cast<char>(0x80 | static_cast<unsigned>(opcode));  // FIN; server frames are not masked
    if (length < 126) {
        h.bytes[1] = static_cast<char>(length);
        h.size = 2;
    } else if (length <= 0xffff) {
        h.bytes[1] = 126;
        h.bytes[2] = static_cast<char>(length >> 8);
        h.bytes[3] = static_cast<char>(length);
        h.size = 4;
    } else {
        h.bytes[1] = 127;
        for (int i = 0; i < 8; ++i)
            h.bytes[2 + i] = static_cast<char>(length >> (56 - 8 * i));
        h.size = 10;
    }
    return h;
}

/** A close frame's payload: the code, then the reason cut to fit 125 bytes (at a character boundary). */
inline std::string close_payload(int code, std::string_view reason) {
    std::string payload;
    payload.push_back(static_cast<char>((code >> 8) & 0xff));
    payload.push_back(static_cast<char>(code & 0xff));
    if (reason.size() > max_control_payload - 2) {
        reason = reason.substr(0, max_control_payload - 2);
        while (!reason.empty() && !valid_utf8(reason))
            reason.remove_suffix(1);
    }
    payload.append(reason);
    return payload;
}

/**
 * Parses client frames. `Sink` receives, in order:
 *   on_text(std::string_view message)      a whole text message
 *   on_binary()                            a whole binary message (not kept)
 *   on_ping(std::string_view payload)
 *   on_pong()
 *   on_close(int code, std::string_view reason)   1005: no code was given
 *   on_error(int close_code, const char* why)     the connection must fail
 * After on_close or on_error nothing more is parsed.
 */
class FrameReader {
    static constexpr bool is_control(Opcode opcode) noexcept { return static_cast<unsigned>(opcode) >= 8; }
    static constexpr int protocol_error = close_status::protocol_error;
    static constexpr int invalid_payload = close_status::invalid_payload;
    static constexpr int no_status_received = close_status::no_status_received;

public:
    explicit FrameReader(std::size_t max_message) : max_message_(max_message) {}

    /**
     * Handles every complete frame at the front of `data` (unmasking it in
     * place) and returns how many bytes it used; the rest is an incomplete
     * frame to be offered again with more bytes behind it.
     */
    template <class Sink>
    std::size_t parse(char* data, std::size_t size, Sink& sink) {
        std::size_t used = 0;
        wanted_ = 0;
        while (!done_) {
            auto* p = reinterpret_cast<unsigned char*>(data + used);
            std::size_t left = size - used;
            if (left < 2) {
                wanted_ = 2 - left;
                break;
            }
            const bool fin = p[0] & 0x80;
            const auto opcode = static_cast<Opcode>(p[0] & 0x0f);
            if (p[0] & 0x70) return fail(sink, used, protocol_error, "reserved bits set without an extension");
            if (!(p[1] & 0x80)) return fail(sink, used, protocol_error, "client frames must be masked");
            std::uint64_t length = p[1] & 0x7f;
            const std::size_t length_end = length == 126 ? 4 : length == 127 ? 10 : 2;
            if (left < length_end) {
                wanted_ = length_end - left;
                break;
            }
            if (length == 126) {
                length = (std::uint64_t{p[2]} << 8) | p[3];
            } else if (length == 127) {
                length = 0;
                for (int i = 0; i < 8; ++i)
                    length = (length << 8) | p[2 + i];
                if (length >> 63) return fail(sink, used, protocol_error, "frame length out of range");
            }
            if (is_control(opcode)) {
                if (opcode > Opcode::pong) return fail(sink, used, protocol_error, "unknown control opcode");
                if (!fin) return fail(sink, used, protocol_error, "fragmented control frame");
                if (length > max_control_payload)
                    return fail(sink, used, protocol_error, "control frame over 125 bytes");
            } else {
                const bool continuation = opcode == Opcode::continuation;
                if (opcode > Opcode::binary) return fail(sink, used, protocol_error, "unknown data opcode");
                if (continuation && !in_message_)
                    return fail(sink, used, protocol_error, "continuation without a message");
                if (!continuation && in_message_)
                    return fail(sink, used, protocol_error, "new message inside a fragmented one");
                if (message_size_ + length > max_message_)  // message_size_ is 0 outside a fragmented message
                    return fail(sink, used, close_code::message_too_big, "message too big");
            }
            const std::size_t header = length_end + 4;  // and the masking key
            if (left < header || left - header < length) {
                wanted_ = header + static_cast<std::size_t>(length) - left;
                break;
            }
            char* payload = data + used + header;
            const auto n = static_cast<std::size_t>(length);
            const bool ascii = unmask(payload, n, p + header - 4);
            used += header + n;
            std::string_view view(payload, n);
            switch (opcode) {
                case Opcode::close:
                    return close(sink, used, view);
                case Opcode::ping:
                    sink.on_ping(view);
                    continue;
                case Opcode::pong:
                    sink.on_pong();
                    continue;
                default:
                    break;
            }
            if (opcode != Opcode::continuation) message_opcode_ = opcode;
            if (fin && !in_message_) {
                if (!deliver(sink, view, ascii)) return used;
                continue;
            }
            message_ascii_ = message_ascii_ && ascii;
            in_message_ = true;
            message_size_ += n;
            if (message_opcode_ == Opcode::text) fragments_.append(view);
            if (!fin) continue;
            const bool message_ascii = message_ascii_;
            in_message_ = false;
            message_size_ = 0;
            message_ascii_ = true;
            std::string message;
            message.swap(fragments_);  // the next fragmented message starts from empty storage
            if (!deliver(sink, message, message_ascii)) return used;
        }
        return used;
    }

    /** Bytes still missing for the frame in progress after the last parse (0: none in progress). */
    std::size_t wanted() const noexcept { return wanted_; }

    /** A close or an error ended the stream: nothing more will be parsed. */
    bool done() const noexcept { return done_; }

private:
    /**
     * Unmasks `n` bytes in place and returns true when all of them are
     * ASCII: such text is valid UTF-8 without a second pass over it.
     */
    static bool unmask(char* data, std::size_t n, const unsigned char* key) {
        unsigned char k[8];
        for (int i = 0; i < 8; ++i)
            k[i] = key[i % 4];
        std::uint64_t wide;
        std::memcpy(&wide, k, 8);
        std::uint64_t seen = 0;  // every unmasked byte ORed in
        std::size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            std::uint64_t word;
            std::memcpy(&word, data + i, 8);
            word ^= wide;
            seen |= word;
            std::memcpy(data + i, &word, 8);
        }
        for (; i < n; ++i) {
            data[i] = static_cast<char>(data[i] ^ key[i % 4]);
            seen |= static_cast<unsigned char>(data[i]);
        }
        return (seen & 0x8080808080808080ull) == 0;
    }

    template <class Sink>
    bool deliver(Sink& sink, std::string_view message, bool ascii) {
        if (message_opcode_ == Opcode::binary) {
            sink.on_binary();
            return true;
        }
        if (!ascii && !valid_utf8(message)) {
            done_ = true;
            sink.on_error(invalid_payload, "text message is not valid UTF-8");
            return false;
        }
        sink.on_text(message);
        return true;
    }

    template <class Sink>
    std::size_t close(Sink& sink, std::size_t used, std::string_view payload) {
        done_ = true;
        if (payload.empty()) {
            sink.on_close(no_status_received, {});
            return used;
        }
        if (payload.size() == 1) {
            sink.on_error(protocol_error, "close frame with a one-byte payload");
            return used;
        }
        const int code = (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
        if (!valid_close_code(code)) {
            sink.on_error(protocol_error, "close frame with an invalid code");
            return used;
        }
        auto reason = payload.substr(2);
        if (!valid_utf8(reason)) {
            sink.on_error(invalid_payload, "close reason is not valid UTF-8");
            return used;
        }
        sink.on_close(code, reason);
        return used;
    }

    template <class Sink>
    std::size_t fail(Sink& sink, std::size_t used, int code, const char* why) {
        done_ = true;
        sink.on_error(code, why);
        return used;
    }

    std::size_t max_message_;
    std::size_t wanted_ = 0;
    std::uint64_t message_size_ = 0;  // of the fragmented message in progress
    std::string fragments_;           // its text so far (binary is not kept)
    Opcode message_opcode_ = Opcode::text;
    bool in_message_ = false;
    bool message_ascii_ = true;  // every fragment so far was ASCII
    bool done_ = false;
};

}  // namespace switchboard::beast::detail

// frame_reader_fuzz: the Beast adapter's RFC 6455 reader (src/beast/rfc6455.hpp)
// on arbitrary client bytes.
//
// Input: byte 0 (low 3 bits) says how many chunk sizes follow (0..7), each
// byte of those one chunk size (value + 1, used in turn); the rest is the
// byte stream a client sent. Checks:
//   - the stream fed whole, fed in those chunks, and fed one byte at a time
//     (each time keeping the unused tail and appending the next bytes, as
//     the session does) gives the same events: texts with their content,
//     binaries, pings with their payload, pongs, close code and reason,
//     error close code; and the same unparsed tail and wanted();
//   - those events are what a plain reference decoder written from the
//     header's rules and RFC 6455 expects;
//   - nothing follows a close or an error; every text is valid UTF-8 and
//     at most the limit (1000 bytes, so 1009 is reachable); a ping payload
//     is at most 125 bytes; close codes are valid; error codes are 1002,
//     1007 or 1009.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "beast/rfc6455.hpp"
#include "fuzz_check.hpp"

namespace {

using switchboard::beast::detail::FrameReader;
using switchboard::fuzz::printable;

constexpr std::size_t max_message = 1000;

struct Event {
    char kind;  // 't'ext, 'b'inary, 'p'ing, 'o' pong, 'c'lose, 'e'rror
    int code = 0;
    std::string data;
    bool operator==(const Event& o) const { return kind == o.kind && code == o.code && data == o.data; }
};

std::string describe(const std::vector<Event>& events) {
    std::string out;
    for (const auto& e : events) {
        out += "\n    ";
        out += e.kind;
        if (e.code) out += " " + std::to_string(e.code);
        if (e.kind != 'b' && e.kind != 'o' && e.kind != 'e') out += " \"" + printable(e.data, 80) + "\"";
    }
    return out.empty() ? "\n    (none)" : out;
}

/** UTF-8 by decoding each code point: shortest form, no surrogates, at most U+10FFFF. */
bool utf8_by_decoding(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
        for (std::size_t k = 1; k < n; ++k) {
            auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3f);
        }
        static const std::uint32_t shortest[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (n > 1 && cp < shortest[n]) return false;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n;
    }
    return true;
}

struct Recorder {
    std::vector<Event> events;
    bool ended = false;

    void add(Event e) {
        FUZZ_CHECK(!ended, "an event after the close or error:" + describe(events) + describe({e}));
        events.push_back(std::move(e));
    }
    void on_text(std::string_view m) {
        FUZZ_CHECK(m.size() <= max_message, "a text of " + std::to_string(m.size()) + " bytes passed the limit");
        FUZZ_CHECK(utf8_by_decoding(m), "a text that is not UTF-8: " + printable(m));
        add({'t', 0, std::string(m)});
    }
    void on_binary() { add({'b', 0, {}}); }
    void on_ping(std::string_view payload) {
        FUZZ_CHECK(payload.size() <= 125, "a ping of " + std::to_string(payload.size()) + " bytes");
        add({'p', 0, std::string(payload)});
    }
    void on_pong() { add({'o', 0, {}}); }
    void on_close(int code, std::string_view reason) {
        const bool valid = code == 1005 || (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
                           (code >= 3000 && code <= 4999);
        FUZZ_CHECK(valid, "close with code " + std::to_string(code));
        FUZZ_CHECK(code != 1005 || reason.empty(), "close 1005 with a reason");
        FUZZ_CHECK(utf8_by_decoding(reason), "a close reason that is not UTF-8: " + printable(reason));
        add({'c', code, std::string(reason)});
        ended = true;
    }
    void on_error(int code, const char*) {
        FUZZ_CHECK(code == 1002 || code == 1007 || code == 1009, "error close code " + std::to_string(code));
        add({'e', code, {}});
        ended = true;
    }
};

struct Outcome {
    std::vector<Event> events;
    std::size_t tail = 0;    // bytes left unparsed at the end
    std::size_t wanted = 0;  // reader.wanted() after the last parse
    bool done = false;
};

/** Feeds `stream` in chunks of `sizes` (cycled; empty: all at once), as the session does. */
Outcome feed(const std::string& stream, const std::vector<std::size_t>& sizes) {
    FrameReader reader(max_message);
    Recorder sink;
    std::string pending;
    std::size_t at = 0, turn = 0;
    while (at < stream.size() && !reader.done()) {
        std::size_t n = sizes.empty() ? stream.size() : sizes[turn++ % sizes.size()];
        n = std::min(n, stream.size() - at);
        pending.append(stream, at, n);
        at += n;
        std::size_t used = reader.parse(pending.data(), pending.size(), sink);
        FUZZ_CHECK(used <= pending.size(), "parse used more bytes than it was given");
        FUZZ_CHECK(reader.done() == sink.ended, "done() disagrees with the close/error events");
        pending.erase(0, used);
    }
    return {sink.events, reader.done() ? 0 : pending.size(), reader.done() ? 0 : reader.wanted(), reader.done()};
}

/** The events RFC 6455 and the header's rules call for, decoded the plain way. */
std::vector<Event> reference(const std::string& s) {
    std::vector<Event> out;
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    auto error = [&](int code) {
        out.push_back({'e', code, {}});
        return out;
    };
    bool in_message = false;
    int message_opcode = 0;
    std::string message;
    std::uint64_t message_size = 0;
    std::size_t pos = 0;
    for (;;) {
        std::size_t left = s.size() - pos;
        if (left < 2) return out;
        const bool fin = byte(pos) & 0x80;
        const int opcode = byte(pos) & 0x0f;
        if (byte(pos) & 0x70) return error(1002);
        if (!(byte(pos + 1) & 0x80)) return error(1002);
        const unsigned short_length = byte(pos + 1) & 0x7f;
        const std::size_t extended = short_length == 126 ? 2 : short_length == 127 ? 8 : 0;
        if (left < 2 + extended) return out;
        std::uint64_t length = short_length;
        if (extended) {
            length = 0;
            for (std::size_t i = 0; i < extended; ++i)
                length = length * 256 + byte(pos + 2 + i);
            if (extended == 8 && length >= (std::uint64_t{1} << 63)) return error(1002);
        }
        if (opcode >= 8) {
            if (opcode > 10 || !fin || length > 125) return error(1002);
        } else {
            if (opcode > 2) return error(1002);
            if ((opcode == 0) != in_message) return error(1002);
            if ((in_message ? message_size : 0) + length > max_message) return error(1009);
        }
        const std::size_t key_at = pos + 2 + extended;
        if (left < 2 + extended + 4 || left - (2 + extended + 4) < length) return out;
        std::string payload = s.substr(key_at + 4, static_cast<std::size_t>(length));
        for (std::size_t i = 0; i < payload.size(); ++i)
            payload[i] = static_cast<char>(payload[i] ^ s[key_at + i % 4]);
        pos = key_at + 4 + static_cast<std::size_t>(length);
        if (opcode == 8) {
            if (payload.empty()) {
                out.push_back({'c', 1005, {}});
                return out;
            }
            if (payload.size() == 1) return error(1002);
            int code = byte(key_at + 4) ^ byte(key_at);
            code = code * 256 + (byte(key_at + 5) ^ byte(key_at + 1));
            if (!((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999)))
                return error(1002);
            std::string reason = payload.substr(2);
            if (!utf8_by_decoding(reason)) return error(1007);
            out.push_back({'c', code, reason});
            return out;
        }
        if (opcode == 9) {
            out.push_back({'p', 0, payload});
            continue;
        }
        if (opcode == 10) {
            out.push_back({'o', 0, {}});
            continue;
        }
        if (opcode != 0) {
            message_opcode = opcode;
            message.clear();
            message_size = 0;
        }
        message += payload;
        message_size += length;
        in_message = !fin;
        if (!fin) continue;
        if (message_opcode == 2) {
            out.push_back({'b', 0, {}});
        } else {
            if (!utf8_by_decoding(message)) return error(1007);
            out.push_back({'t', 0, message});
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t count = data[0] & 7;
    if (size < 1 + count) return 0;
    std::vector<std::size_t> sizes;
    for (std::size_t i = 0; i < count; ++i)
        sizes.push_back(std::size_t{data[1 + i]} + 1);
    if (sizes.empty()) sizes.push_back(1);
    const std::string stream(reinterpret_cast<const char*>(data) + 1 + count, size - 1 - count);

    const Outcome whole = feed(stream, {});
    const Outcome chunked = feed(stream, sizes);
    const Outcome bytewise = feed(stream, {1});
    const std::vector<Event> expected = reference(stream);

    FUZZ_CHECK(whole.events == expected, "fed whole:" + describe(whole.events) + "\n  expected:" + describe(expected));
    for (const Outcome* o : {&chunked, &bytewise}) {
        const char* how = o == &chunked ? "in chunks" : "a byte at a time";
        FUZZ_CHECK(o->events == whole.events,
                   std::string("fed ") + how + ":" + describe(o->events) + "\n  fed whole:" + describe(whole.events));
        FUZZ_CHECK(o->done == whole.done && o->tail == whole.tail && o->wanted == whole.wanted,
                   std::string("fed ") + how + ": tail " + std::to_string(o->tail) + ", wanted " +
                       std::to_string(o->wanted) + "; fed whole: tail " + std::to_string(whole.tail) + ", wanted " +
                       std::to_string(whole.wanted));
    }
    return 0;
}

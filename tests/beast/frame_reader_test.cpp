// The Beast adapter's RFC 6455 reader on its own: client frames in, events
// out, every protocol error with its close code. No sockets.
#include <cstdint>
#include <string>
#include <vector>

#include "catch.hpp"
#include "rfc6455.hpp"

using switchboard::beast::detail::FrameReader;
using switchboard::beast::detail::valid_utf8;

namespace {

/** A client frame: masked with a fixed key, length in the shortest form unless `long_form`. */
std::string frame(unsigned first_byte, const std::string& payload, bool masked = true) {
    std::string out;
    out.push_back(static_cast<char>(first_byte));
    const std::uint64_t n = payload.size();
    const char mask_bit = masked ? static_cast<char>(0x80) : 0;
    if (n < 126) {
        out.push_back(static_cast<char>(mask_bit | static_cast<char>(n)));
    } else if (n <= 0xffff) {
        out.push_back(static_cast<char>(mask_bit | 126));
        out.push_back(static_cast<char>(n >> 8));
        out.push_back(static_cast<char>(n));
    } else {
        out.push_back(static_cast<char>(mask_bit | 127));
        for (int i = 7; i >= 0; --i)
            out.push_back(static_cast<char>(n >> (8 * i)));
    }
    const unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
    if (masked)
        for (auto k : key)
            out.push_back(static_cast<char>(k));
    for (std::size_t i = 0; i < payload.size(); ++i)
        out.push_back(masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
    return out;
}

std::string text(const std::string& p) {
    return frame(0x81, p);
}

struct Events {
    std::vector<std::string> log;
    void on_text(std::string_view m) { log.push_back("text:" + std::string(m)); }
    void on_binary() { log.push_back("binary"); }
    void on_ping(std::string_view p) { log.push_back("ping:" + std::string(p)); }
    void on_pong() { log.push_back("pong"); }
    void on_close(int code, std::string_view reason) {
        log.push_back("close:" + std::to_string(code) + ":" + std::string(reason));
    }
    void on_error(int code, const char*) { log.push_back("error:" + std::to_string(code)); }
};

/** Feeds `wire` in pieces of `step` bytes, keeping unused bytes as a session does. */
std::vector<std::string> feed(const std::string& wire, std::size_t step = 0, std::size_t max = 1 << 20) {
    FrameReader reader(max);
    Events events;
    std::string pending;
    std::size_t at = 0;
    if (step == 0) step = wire.size();
    while (at < wire.size() && !reader.done()) {
        pending += wire.substr(at, step);
        at += step;
        auto used = reader.parse(pending.data(), pending.size(), events);
        pending.erase(0, used);
    }
    return events.log;
}

}  // namespace

TEST_CASE("frames in one read are all handled, in order", "[beast][frames]") {
    auto wire = text("a") + frame(0x89, "p") + text(std::string(300, 'b')) + frame(0x8A, "") + frame(0x82, "bin");
    std::vector<std::string> expected = {"text:a", "ping:p", "text:" + std::string(300, 'b'), "pong", "binary"};
    CHECK(feed(wire) == expected);
    SECTION("and the same bytes arriving one at a time give the same events") {
        CHECK(feed(wire, 1) == expected);
    }
    SECTION("or seven at a time") {
        CHECK(feed(wire, 7) == expected);
    }
}

TEST_CASE("the reader says how many bytes the frame in progress still needs", "[beast][frames]") {
    FrameReader reader(1 << 20);
    Events events;
    auto wire = text(std::string(1000, 'x'));
    std::string first = wire.substr(0, 100);
    CHECK(reader.parse(first.data(), first.size(), events) == 0);
    CHECK(reader.wanted() == wire.size() - 100);
    CHECK(events.log.empty());
}

TEST_CASE("lengths in 7, 16 and 64 bits", "[beast][frames]") {
    std::string big(70000, 'z');
    CHECK(feed(text(std::string(125, 'a')) + text(std::string(126, 'b')) + text(big)) ==
          std::vector<std::string>{"text:" + std::string(125, 'a'), "text:" + std::string(126, 'b'), "text:" + big});
}

TEST_CASE("a fragmented message is joined, with control frames between its fragments", "[beast][frames]") {
    auto wire = frame(0x01, "Hel") + frame(0x89, "x") + frame(0x00, "lo, ") + frame(0x80, "wörld") + text("next");
    CHECK(feed(wire, 3) == std::vector<std::string>{"ping:x", "text:Hello, wörld", "text:next"});
    // A UTF-8 character split across fragments is fine: validation is of the whole message.
    std::string o = "ö";
    CHECK(feed(frame(0x01, o.substr(0, 1)) + frame(0x80, o.substr(1))) == std::vector<std::string>{"text:ö"});
    CHECK(feed(frame(0x02, "ab") + frame(0x80, "cd")) == std::vector<std::string>{"binary"});
}

TEST_CASE("text is checked for UTF-8 whenever any part of it is not ASCII", "[beast][frames]") {
    using V = std::vector<std::string>;
    // Bad bytes at every position of one frame, around the 8-byte unmasking steps.
    for (std::size_t at = 0; at <= 20; ++at) {
        std::string bad = std::string(at, 'a') + "\xff" + std::string(20 - at, 'b');
        CHECK(feed(text(bad)) == V{"error:1007"});
        std::string good = std::string(at, 'a') + "\xc3\xa9" + std::string(20 - at, 'b');
        CHECK(feed(text(good)) == V{"text:" + good});
    }
    // An ASCII fragment first does not excuse a later one, nor the reverse.
    CHECK(feed(frame(0x01, "ascii") + frame(0x80, "\xc3")) == V{"error:1007"});
    CHECK(feed(frame(0x01, "\xc3") + frame(0x80, "ascii")) == V{"error:1007"});
    // A message after a non-ASCII one starts with a clean slate.
    CHECK(feed(frame(0x01, "\xc3") + frame(0x80, "\xa9") + frame(0x01, "a") + frame(0x80, "b")) ==
          V{"text:\xc3\xa9", "text:ab"});
}

TEST_CASE("close frames: code and reason, or none", "[beast][frames]") {
    CHECK(feed(frame(0x88, "")) == std::vector<std::string>{"close:1005:"});
    CHECK(feed(frame(0x88, std::string("\x03\xe8", 2) + "bye") + text("after")) ==
          std::vector<std::string>{"close:1000:bye"});
    CHECK(feed(frame(0x88, std::string("\x0f\xa0", 2))) == std::vector<std::string>{"close:4000:"});
}

TEST_CASE("protocol errors name their close code and end the stream", "[beast][frames]") {
    using V = std::vector<std::string>;
    CHECK(feed(frame(0x81, "a", false)) == V{"error:1002"});                      // unmasked
    CHECK(feed(frame(0xC1, "a") + text("b")) == V{"error:1002"});                 // RSV1 without an extension
    CHECK(feed(frame(0x83, "a")) == V{"error:1002"});                             // unknown data opcode
    CHECK(feed(frame(0x8B, "")) == V{"error:1002"});                              // unknown control opcode
    CHECK(feed(frame(0x09, "")) == V{"error:1002"});                              // fragmented ping
    CHECK(feed(frame(0x89, std::string(126, 'p'))) == V{"error:1002"});           // control over 125 bytes
    CHECK(feed(frame(0x80, "a")) == V{"error:1002"});                             // continuation without a message
    CHECK(feed(frame(0x01, "a") + text("b")) == V{"error:1002"});                 // new message inside a fragmented one
    CHECK(feed(frame(0x88, "x")) == V{"error:1002"});                             // one-byte close payload
    CHECK(feed(frame(0x88, std::string("\x03\xed", 2))) == V{"error:1002"});      // 1005 may not be sent
    CHECK(feed(frame(0x88, std::string("\x03\xe8\xff", 3))) == V{"error:1007"});  // reason not UTF-8
    CHECK(feed(text("\xc3\x28")) == V{"error:1007"});                             // text not UTF-8
}

TEST_CASE("a message over the limit fails from its header, before its payload arrives", "[beast][frames]") {
    FrameReader reader(100);
    Events events;
    auto wire = text(std::string(101, 'x'));
    std::string header = wire.substr(0, 4);
    reader.parse(header.data(), header.size(), events);
    CHECK(events.log == std::vector<std::string>{"error:1009"});
    CHECK(reader.done());
    // The limit is on the message, not the frame.
    CHECK(feed(frame(0x01, std::string(60, 'a')) + frame(0x80, std::string(60, 'b')), 0, 100) ==
          std::vector<std::string>{"error:1009"});
    CHECK(feed(text(std::string(100, 'x')), 0, 100).size() == 1);
}

TEST_CASE("UTF-8 validation", "[beast][frames]") {
    CHECK(valid_utf8(""));
    CHECK(valid_utf8("plain ASCII, longer than eight bytes"));
    CHECK(valid_utf8("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
    CHECK(valid_utf8("\xf4\x8f\xbf\xbf"));                                 // U+10FFFF
    CHECK_FALSE(valid_utf8("\x80"));                                       // lone continuation
    CHECK_FALSE(valid_utf8("\xc0\xaf"));                                   // overlong
    CHECK_FALSE(valid_utf8("\xe0\x80\xaf"));                               // overlong
    CHECK_FALSE(valid_utf8("\xed\xa0\x80"));                               // surrogate
    CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));                           // above U+10FFFF
    CHECK_FALSE(valid_utf8("\xe2\x82"));                                   // truncated
    CHECK_FALSE(valid_utf8("12345678\xff"));                               // after an ASCII run
}

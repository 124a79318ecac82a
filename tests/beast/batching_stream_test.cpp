// The Beast adapter's write layer on its own: framing, one gathered write per
// batch, control frames in order behind it, nothing after a close frame.
// A recording stream stands in for the socket, so every send call is counted.
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include "batching_stream.hpp"
#include "catch.hpp"

namespace net = boost::asio;
using boost::beast::error_code;
using switchboard::beast::detail::BatchingStream;
using switchboard::beast::detail::WriteListener;

namespace {

/** An AsyncWriteStream that appends everything to `wire` and counts write_some calls. */
class RecordingStream {
public:
    using executor_type = net::io_context::executor_type;

    explicit RecordingStream(net::io_context& io) : io_(&io) {}
    executor_type get_executor() { return io_->get_executor(); }

    template <class ConstBufferSequence, class WriteHandler>
    auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
        return net::async_initiate<WriteHandler, void(error_code, std::size_t)>(
            [this](auto&& h, const ConstBufferSequence& b) {
                std::size_t n = 0;
                if (!fail) {
                    std::string bytes(net::buffer_size(b), '\0');
                    n = net::buffer_copy(net::buffer(bytes), b);
                    wire += bytes;
                    ++writes;
                }
                auto ec = fail ? net::error::make_error_code(net::error::broken_pipe) : error_code{};
                net::post(*io_, boost::beast::bind_front_handler(std::move(h), ec, n));
            },
            handler, buffers);
    }

    std::string wire;
    int writes = 0;
    bool fail = false;

private:
    net::io_context* io_;
};

struct Listener final : WriteListener {
    void on_written(error_code ec) override {
        ++calls;
        last = ec;
    }
    int calls = 0;
    error_code last;
};

struct Frame {
    unsigned char first;
    std::string payload;
};

/** Splits unmasked server frames; fails the test on a malformed one. */
std::vector<Frame> parse_frames(const std::string& wire) {
    std::vector<Frame> frames;
    std::size_t at = 0;
    while (at < wire.size()) {
        REQUIRE(wire.size() - at >= 2);
        auto byte = [&](std::size_t i) { return static_cast<unsigned char>(wire[at + i]); };
        REQUIRE((byte(1) & 0x80) == 0);  // servers never mask
        std::uint64_t length = byte(1) & 0x7f;
        std::size_t header = 2;
        if (length == 126) {
            length = (std::uint64_t{byte(2)} << 8) | byte(3);
            header = 4;
            CHECK(length >= 126);  // the shortest encoding
        } else if (length == 127) {
            length = 0;
            for (std::size_t i = 0; i < 8; ++i)
                length = (length << 8) | byte(2 + i);
            header = 10;
            CHECK(length > 0xffff);
        }
        REQUIRE(wire.size() - at - header >= length);
        frames.push_back({byte(0), wire.substr(at + header, length)});
        at += header + length;
    }
    return frames;
}

struct Fixture {
    net::io_context io;
    std::shared_ptr<Listener> listener = std::make_shared<Listener>();
    BatchingStream<RecordingStream> stream{RecordingStream(io)};

    Fixture() { stream.set_listener(listener); }
    RecordingStream& socket() { return stream.next_layer(); }

    void write(const std::vector<std::string>& texts) {
        std::vector<std::shared_ptr<const std::string>> batch;
        for (const auto& t : texts)
            batch.push_back(std::make_shared<const std::string>(t));
        stream.write_text(batch);
        CHECK(batch.empty());
    }
};

}  // namespace

TEST_CASE("a batch of queued messages goes out in one send, one text frame each", "[beast][batching]") {
    Fixture f;
    std::vector<std::string> texts = {"", "x", std::string(125, 'a'), std::string(126, 'b'), std::string(3700, 's')};
    for (int i = 0; i < 20; ++i)
        texts.push_back(R"({"type":"peer-candidate","from":2,"candidate":{}})");
    f.write(texts);
    CHECK_FALSE(f.stream.idle());
    f.io.run();
    CHECK(f.socket().writes == 1);
    CHECK(f.stream.idle());
    CHECK(f.listener->calls == 1);
    CHECK_FALSE(f.listener->last);
    auto frames = parse_frames(f.socket().wire);
    REQUIRE(frames.size() == texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        CHECK(frames[i].first == 0x81);  // FIN + text
        CHECK(frames[i].payload == texts[i]);
    }
}

TEST_CASE("frame headers use the 16- and 64-bit lengths at their boundaries", "[beast][batching]") {
    Fixture f;
    const std::vector<std::string> texts = {std::string(0xffff, 'c'), std::string(0x10000, 'd'), "e"};
    f.write(texts);
    f.io.run();
    auto frames = parse_frames(f.socket().wire);
    REQUIRE(frames.size() == texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i)
        CHECK(frames[i].payload == texts[i]);
    CHECK(static_cast<unsigned char>(f.socket().wire[1]) == 126);
    CHECK(static_cast<unsigned char>(f.socket().wire[4 + 0xffff + 1]) == 127);
}

TEST_CASE("control frames queue behind a batch in flight and keep their order", "[beast][batching]") {
    Fixture f;
    f.write({"one", "two"});
    f.stream.write_control(0x9, "hi");
    f.io.run();
    CHECK(f.socket().writes == 2);  // the batch, then the ping that arrived while it was in flight
    CHECK(f.listener->calls == 1);  // told once, when everything is out
    auto frames = parse_frames(f.socket().wire);
    REQUIRE(frames.size() == 3);
    CHECK(frames[0].payload == "one");
    CHECK(frames[1].payload == "two");
    CHECK(frames[2].first == 0x89);
    CHECK(frames[2].payload == "hi");
}

TEST_CASE("pongs waiting behind a write in flight collapse into the latest one", "[beast][batching]") {
    Fixture f;
    f.write({"one"});
    for (int i = 0; i < 1000; ++i)
        f.stream.write_control(0xA, std::to_string(i));
    f.write({"two"});
    f.stream.write_control(0xA, "last");
    f.stream.write_control(0x9, "ping");
    f.io.run();
    auto frames = parse_frames(f.socket().wire);
    REQUIRE(frames.size() == 4);
    CHECK(frames[0].payload == "one");
    CHECK(frames[1].first == 0x8A);  // in the pong's place in the queue, with the newest payload
    CHECK(frames[1].payload == "last");
    CHECK(frames[2].payload == "two");
    CHECK(frames[3].first == 0x89);
    // Once the queued pong is on its way, the next ping gets a pong of its own.
    f.stream.write_control(0xA, "after");
    f.io.restart();
    f.io.run();
    frames = parse_frames(f.socket().wire);
    REQUIRE(frames.size() == 5);
    CHECK(frames[4].payload == "after");
}

TEST_CASE("nothing is written after a close frame", "[beast][batching]") {
    Fixture f;
    f.stream.write_control(0x8, std::string("\x03\xe8", 2));  // 1000
    CHECK(f.stream.close_sent());
    f.write({"late"});
    f.stream.write_control(0xA, "");
    f.io.run();
    auto frames = parse_frames(f.socket().wire);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].first == 0x88);
    CHECK(frames[0].payload == std::string("\x03\xe8", 2));
}

TEST_CASE("a failed send fails every later write and is reported once", "[beast][batching]") {
    Fixture f;
    f.socket().fail = true;
    f.write({"lost"});
    f.io.run();
    CHECK(f.listener->calls == 1);
    CHECK(f.listener->last == net::error::broken_pipe);
    f.stream.write_control(0x9, "");
    f.write({"after"});
    f.io.restart();
    f.io.run();
    CHECK(f.listener->calls == 1);
    CHECK(f.socket().wire.empty());
    bool drained = false;
    f.stream.when_drained([&](error_code ec) {
        drained = true;
        CHECK(ec == net::error::broken_pipe);
    });
    CHECK(drained);
}

TEST_CASE("when_drained waits for the write in flight", "[beast][batching]") {
    Fixture f;
    bool drained = false;
    f.stream.when_drained([&](error_code) { drained = true; });
    CHECK(drained);  // nothing queued: at once
    drained = false;
    f.write({"a", "b"});
    f.stream.when_drained([&](error_code ec) {
        drained = true;
        CHECK_FALSE(ec);
        CHECK(parse_frames(f.socket().wire).size() == 2);
    });
    CHECK_FALSE(drained);
    f.io.run();
    CHECK(drained);
}

// The Beast adapter's outgoing queue on its own: the bounds, framing, one
// gathered write per batch, control frames in order behind it, nothing
// after a close frame. A recording stream stands in for the socket, so
// every send call is counted.
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include "catch.hpp"
#include "outgoing_queue.hpp"

namespace net = boost::asio;
using boost::beast::error_code;
using switchboard::beast::detail::Opcode;
using switchboard::beast::detail::OutgoingQueue;
using switchboard::beast::detail::Pushed;

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
    int shutdowns = 0;
    bool fail = false;

private:
    net::io_context* io_;
};

/** The writer shuts the socket down when a write fails: here, the stream records it. */
void shut_down(RecordingStream& stream) {
    ++stream.shutdowns;
}

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

/** Queue bounds: `messages` and `bytes`. */
switchboard::beast::TransportOptions bounds(std::size_t messages, std::size_t bytes) {
    switchboard::beast::TransportOptions o;
    o.queue_max_messages = messages;
    o.queue_max_bytes = bytes;
    return o;
}

struct Fixture {
    explicit Fixture(switchboard::beast::TransportOptions o = bounds(1024, 1 << 30))
        : options(o), queue(socket, options) {}

    net::io_context io;
    RecordingStream socket{io};
    const switchboard::beast::TransportOptions options;
    OutgoingQueue<RecordingStream> queue;
    std::shared_ptr<int> owner = std::make_shared<int>();

    /** Pushes each text as a server message; all must be queued. */
    void push(const std::vector<std::string>& texts) {
        for (const auto& t : texts)
            CHECK(queue.push(std::make_shared<const std::string>(t), false) == Pushed::queued);
    }
    Pushed push_one(std::size_t size, bool routed) {
        return queue.push(std::make_shared<const std::string>(size, 'm'), routed);
    }
    void start() { queue.start(owner); }
    void run() {
        io.restart();
        io.run();
    }
};

}  // namespace

TEST_CASE("nothing is written before start: the 101 goes first", "[beast][queue]") {
    Fixture f;
    f.push({"login"});
    f.queue.control(Opcode::close, std::string("\x03\xe9", 2));
    f.run();
    CHECK(f.socket.writes == 0);
    f.start();
    f.run();
    auto frames = parse_frames(f.socket.wire);
    REQUIRE(frames.size() == 2);
    CHECK(frames[0].payload == "login");
    CHECK(frames[1].first == 0x88);
}

TEST_CASE("a batch of queued messages goes out in one send, one text frame each", "[beast][queue]") {
    Fixture f;
    f.start();
    std::vector<std::string> texts = {"", "x", std::string(125, 'a'), std::string(126, 'b'), std::string(3700, 's')};
    for (int i = 0; i < 20; ++i)
        texts.push_back(R"({"type":"peer-candidate","from":2,"candidate":{}})");
    f.push(texts);
    f.run();
    CHECK(f.socket.writes == 1);
    auto frames = parse_frames(f.socket.wire);
    REQUIRE(frames.size() == texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        CHECK(frames[i].first == 0x81);  // FIN + text
        CHECK(frames[i].payload == texts[i]);
    }
}

TEST_CASE("frame headers use the 16- and 64-bit lengths at their boundaries", "[beast][queue]") {
    Fixture f;
    f.start();
    const std::vector<std::string> texts = {std::string(0xffff, 'c'), std::string(0x10000, 'd'), "e"};
    f.push(texts);
    f.run();
    auto frames = parse_frames(f.socket.wire);
    REQUIRE(frames.size() == texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i)
        CHECK(frames[i].payload == texts[i]);
    CHECK(static_cast<unsigned char>(f.socket.wire[1]) == 126);
    CHECK(static_cast<unsigned char>(f.socket.wire[4 + 0xffff + 1]) == 127);
}

TEST_CASE("routed messages may take half the queue, the server's own the rest, then it overflows", "[beast][queue]") {
    Fixture f(bounds(8, 1000));
    // Not started: everything waits, as behind a write in flight.
    CHECK(f.push_one(10, true) == Pushed::queued);
    for (int i = 0; i < 3; ++i)
        CHECK(f.push_one(10, true) == Pushed::queued);
    CHECK(f.push_one(10, true) == Pushed::busy);  // 4 of 8 messages wait
    for (int i = 0; i < 4; ++i)
        CHECK(f.push_one(10, false) == Pushed::queued);
    CHECK(f.push_one(10, false) == Pushed::overflow);  // 8 of 8
    CHECK(f.queue.sealed());
    CHECK(f.push_one(10, false) == Pushed::dropped);
    f.start();
    f.run();
    CHECK(f.socket.wire.empty());  // what waited was dropped
}

TEST_CASE("the byte bound works the same way, and an empty queue takes any one message", "[beast][queue]") {
    Fixture f(bounds(1024, 1000));
    CHECK(f.push_one(5000, true) == Pushed::queued);  // alone: however large
    CHECK(f.push_one(1, true) == Pushed::busy);
    CHECK(f.push_one(1, false) == Pushed::overflow);

    Fixture g(bounds(1024, 1000));
    CHECK(g.push_one(400, true) == Pushed::queued);
    CHECK(g.push_one(100, true) == Pushed::queued);  // 500 of the routed half
    CHECK(g.push_one(1, true) == Pushed::busy);
    CHECK(g.push_one(500, false) == Pushed::queued);  // 1000 of 1000
    CHECK(g.push_one(1, false) == Pushed::overflow);
}

TEST_CASE("a sealed queue drops text but still sends what waited, then the close frame", "[beast][queue]") {
    Fixture f;
    f.push({"error"});
    CHECK(f.queue.seal());
    CHECK_FALSE(f.queue.seal());  // only the first caller closes
    CHECK(f.push_one(3, false) == Pushed::dropped);
    f.queue.control(Opcode::close, std::string("\x03\xe8", 2));
    f.start();
    f.run();
    auto frames = parse_frames(f.socket.wire);
    REQUIRE(frames.size() == 2);
    CHECK(frames[0].payload == "error");
    CHECK(frames[1].first == 0x88);
}

TEST_CASE("control frames queue behind a batch in flight and keep their order", "[beast][queue]") {
    Fixture f;
    f.start();
    f.push({"one", "two"});
    f.io.run_one();  // the write starts, with both messages
    f.queue.control(Opcode::ping, "hi");
    f.run();
    CHECK(f.socket.writes == 2);  // the batch, then the ping that arrived while it was in flight
    auto frames = parse_frames(f.socket.wire);
    REQUIRE(frames.size() == 3);
    CHECK(frames[0].payload == "one");
    CHECK(frames[1].payload == "two");
    CHECK(frames[2].first == 0x89);
    CHECK(frames[2].payload == "hi");
}

TEST_CASE("pongs waiting behind a write in flight collapse into the latest one", "[beast][queue]") {
    Fixture f;
    f.start();
    f.push({"one"});
    f.io.run_one();  // "one" is in flight
    for (int i = 0; i < 1000; ++i)
        f.queue.control(Opcode::pong, std::to_string(i));
    f.push({"two"});
    f.queue.control(Opcode::pong, "last");
    f.queue.control(Opcode::ping, "ping");
    f.run();
    auto frames = parse_frames(f.socket.wire);
    REQUIRE(frames.size() == 4);
    CHECK(frames[0].payload == "one");
    CHECK(frames[1].first == 0x8A);  // in the pong's place in the queue, with the newest payload
    CHECK(frames[1].payload == "last");
    CHECK(frames[2].payload == "two");
    CHECK(frames[3].first == 0x89);
    // Once the queued pong is on its way, the next ping gets a pong of its own.
    f.queue.control(Opcode::pong, "after");
    f.run();
    frames = parse_frames(f.socket.wire);
    REQUIRE(frames.size() == 5);
    CHECK(frames[4].payload == "after");
}

TEST_CASE("nothing is written after a close frame", "[beast][queue]") {
    Fixture f;
    f.start();
    f.queue.control(Opcode::close, std::string("\x03\xe8", 2));  // 1000
    CHECK(f.queue.close_queued());
    CHECK(f.push_one(4, false) == Pushed::dropped);
    f.queue.control(Opcode::pong, "");
    f.run();
    auto frames = parse_frames(f.socket.wire);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].first == 0x88);
    CHECK(frames[0].payload == std::string("\x03\xe8", 2));
}

TEST_CASE("a failed send shuts the socket down, drops the rest and accepts nothing more", "[beast][queue]") {
    Fixture f;
    f.start();
    f.socket.fail = true;
    f.push({"lost", "too"});
    f.run();
    CHECK(f.socket.shutdowns == 1);  // the session's read then fails and ends the connection
    CHECK(f.queue.close_queued());
    CHECK(f.push_one(5, false) == Pushed::dropped);
    f.queue.control(Opcode::ping, "");
    f.run();
    CHECK(f.socket.wire.empty());
    bool told = false;
    f.queue.when_written([&](error_code ec) {
        told = true;
        CHECK(ec == net::error::broken_pipe);
    });
    CHECK(told);
}

TEST_CASE("when_written waits for the write in flight and what queued behind it", "[beast][queue]") {
    Fixture f;
    f.start();
    bool written = false;
    f.queue.when_written([&](error_code) { written = true; });
    CHECK(written);  // nothing queued: at once
    written = false;
    f.push({"a", "b"});
    f.io.run_one();  // in flight
    f.queue.control(Opcode::close, "");
    f.queue.when_written([&](error_code ec) {
        written = true;
        CHECK_FALSE(ec);
        CHECK(parse_frames(f.socket.wire).size() == 3);
    });
    CHECK_FALSE(written);
    f.run();
    CHECK(written);
}

// Internal to switchboard_beast: the write side of a session's WebSocket,
// which lets several outgoing frames share one send call.
//
// BatchingStream wraps the socket (or TLS stream) and owns the only write
// to it. The session hands it whole batches of text messages: it frames
// them (server frames are unmasked: a 2-10 byte header) and writes every
// header and payload with one gathered send, up to 64 buffers a call.
// Control frames (pong, ping, close) join the same ordered queue, so two
// writes never overlap, and nothing follows a close frame. At most one pong
// waits: a newer one replaces it. Reads pass
// straight through.
//
// Strand-only: every member runs on the connection's strand.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>

namespace switchboard::beast::detail {

/** Told when everything handed to a BatchingStream has been written, or the socket failed. */
class WriteListener {
public:
    virtual void on_written(boost::beast::error_code ec) = 0;

protected:
    ~WriteListener() = default;
};

template <class Next>
class BatchingStream {
public:
    using executor_type = typename Next::executor_type;
    using next_layer_type = Next;
    using Message = std::shared_ptr<const std::string>;

    explicit BatchingStream(Next next) : next_(std::move(next)) {}

    executor_type get_executor() noexcept { return next_.get_executor(); }
    Next& next_layer() noexcept { return next_; }
    const Next& next_layer() const noexcept { return next_; }

    /** Who hears about completed writes; it is kept alive while a write is in flight. */
    void set_listener(std::weak_ptr<WriteListener> listener) { listener_ = std::move(listener); }

    /** Nothing waiting and nothing being written. */
    bool idle() const noexcept { return !writing_ && pending_.empty(); }

    /** Queues each message as one unfragmented text frame and starts writing; the listener hears when all is written.
     */
    void write_text(std::vector<Message>& batch) {
        if (!error_ && !close_sent_) {
            pending_.reserve(pending_.size() + batch.size());
            for (auto& message : batch)
                pending_.push_back(text_frame(std::move(message)));
        }
        batch.clear();
        flush();
    }

    /** Reads go straight to the next layer. */
    template <class MutableBufferSequence, class ReadHandler>
    auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
        return next_.async_read_some(buffers, std::forward<ReadHandler>(handler));
    }

    /**
     * Queues one control frame (0x8 close, 0x9 ping, 0xA pong; at most 125
     * bytes of payload) behind everything already queued. Nothing is
     * written after a close frame.
     */
    void write_control(unsigned opcode, std::string_view payload) {
        if (error_ || close_sent_) return;
        auto frame = std::make_shared<std::string>();
        frame->reserve(2 + payload.size());
        frame->push_back(static_cast<char>(0x80 | opcode));
        frame->push_back(static_cast<char>(payload.size()));
        frame->append(payload);
        if (opcode == 0x8) close_sent_ = true;
        if (opcode == 0xA && pending_pong_ < pending_.size()) {
            // A pong still waiting answers only the latest ping (RFC 6455
            // 5.5.3): a client that floods pings and never reads costs one
            // frame, not one per ping.
            pending_[pending_pong_].payload = std::move(frame);
            return;
        }
        if (opcode == 0xA) pending_pong_ = pending_.size();
        pending_.push_back(Segment{std::move(frame), {}, 0});
        flush();
    }

    /** A close frame has been queued: the connection writes nothing more. */
    bool close_sent() const noexcept { return close_sent_; }

    /** Calls `done(ec)` once everything queued so far is written; at once if nothing is. */
    template <class Done>
    void when_drained(Done done) {
        if (idle() || error_) {
            done(error_);
            return;
        }
        drained_ = std::make_unique<DrainWaiter<Done>>(std::move(done));
    }

private:
    struct Segment {
        Message payload;
        std::array<char, 10> header;
        std::uint8_t header_size;
    };

    struct Waiter {
        virtual ~Waiter() = default;
        virtual void done(boost::beast::error_code ec) = 0;
    };
    template <class Done>
    struct DrainWaiter final : Waiter {
        explicit DrainWaiter(Done d) : done_(std::move(d)) {}
        void done(boost::beast::error_code ec) override { done_(ec); }
        Done done_;
    };

    static Segment text_frame(Message payload) {
        Segment s{std::move(payload), {}, 0};
        const std::uint64_t n = s.payload->size();
        s.header[0] = static_cast<char>(0x81);  // FIN, text; server frames are not masked
        if (n < 126) {
            s.header[1] = static_cast<char>(n);
            s.header_size = 2;
        } else if (n <= 0xffff) {
            s.header[1] = 126;
            s.header[2] = static_cast<char>(n >> 8);
            s.header[3] = static_cast<char>(n);
            s.header_size = 4;
        } else {
            s.header[1] = 127;
            for (int i = 0; i < 8; ++i)
                s.header[2 + i] = static_cast<char>(n >> (56 - 8 * i));
            s.header_size = 10;
        }
        return s;
    }

    void flush() {
        if (writing_ || pending_.empty() || error_) return;
        auto listener = listener_.lock();
        if (!listener) return;  // the session is being destroyed
        writing_ = true;
        in_flight_.swap(pending_);
        pending_pong_ = no_pong;
        buffers_.clear();
        buffers_.reserve(2 * in_flight_.size());
        for (const auto& s : in_flight_) {
            if (s.header_size) buffers_.emplace_back(s.header.data(), s.header_size);
            buffers_.emplace_back(s.payload->data(), s.payload->size());
        }
        written_ = 0;
        write_more(std::move(listener));
    }

    /** A view of buffers_[written_..]: asio copies the sequence into each operation, so not the vector itself. */
    struct Unwritten {
        const boost::asio::const_buffer* first;
        const boost::asio::const_buffer* last;
        const boost::asio::const_buffer* begin() const noexcept { return first; }
        const boost::asio::const_buffer* end() const noexcept { return last; }
    };

    /**
     * One write_some per step rather than asio::async_write, which passes at
     * most 16 buffers (8 frames) per call; a socket takes up to 64.
     */
    void write_more(std::shared_ptr<WriteListener> listener) {
        Unwritten rest{buffers_.data() + written_, buffers_.data() + buffers_.size()};
        next_.async_write_some(
            rest, [this, listener = std::move(listener)](boost::beast::error_code ec, std::size_t n) mutable {
                if (!ec) {
                    while (written_ < buffers_.size() && n >= buffers_[written_].size())
                        n -= buffers_[written_++].size();
                    if (written_ < buffers_.size()) {
                        buffers_[written_] += n;  // a partial send: go on from where it stopped
                        write_more(std::move(listener));
                        return;
                    }
                }
                on_flushed(ec, *listener);
            });
    }

    void on_flushed(boost::beast::error_code ec, WriteListener& listener) {
        writing_ = false;
        in_flight_.clear();
        buffers_.clear();
        if (ec) {
            error_ = ec;
            pending_.clear();
            pending_pong_ = no_pong;
        } else if (!pending_.empty()) {
            flush();
            return;
        }
        // Drained: an idle connection keeps no storage (a few allocations per batch are cheap next to a send).
        std::vector<Segment>().swap(in_flight_);
        std::vector<Segment>().swap(pending_);
        std::vector<boost::asio::const_buffer>().swap(buffers_);
        if (auto waiter = std::move(drained_)) waiter->done(error_);
        listener.on_written(error_);
    }

    Next next_;
    std::weak_ptr<WriteListener> listener_;
    std::vector<Segment> pending_;                    // waiting for the write in flight
    std::vector<Segment> in_flight_;                  // owned by the write in flight
    std::vector<boost::asio::const_buffer> buffers_;  // what in_flight_ puts on the wire
    std::size_t written_ = 0;                         // buffers_[..written_] are sent
    std::unique_ptr<Waiter> drained_;
    boost::beast::error_code error_;
    static constexpr std::size_t no_pong = static_cast<std::size_t>(-1);
    std::size_t pending_pong_ = no_pong;  // index in pending_ of a pong not yet in flight
    bool writing_ = false;
    bool close_sent_ = false;  // nothing may follow a close frame
};

}  // namespace switchboard::beast::detail

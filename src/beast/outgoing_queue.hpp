// Internal to switchboard_beast: a session's one outgoing queue and its
// writer.
//
// Every frame the server sends a client passes through here: text messages
// pushed by the hub from any thread, and the control frames the session
// adds on its strand (pongs, pings, the close frame), in one ordered queue
// under one lock. `push` applies the bounds and says whether the message
// was accepted. The first frame queued while nothing is being written
// posts one write to the strand; that write takes everything waiting and
// sends it with one gathered call (up to 64 buffers: header and payload of
// each frame), and when it completes it takes whatever arrived meanwhile,
// until the queue is empty. Nothing follows a close frame.
//
// The writer never calls back into the session. A write that fails shuts
// the socket down, so the session's pending read fails and ends the
// connection; the session only asks to hear when everything is written
// (when_written), on its way out.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include <switchboard/beast.hpp>

#include "rfc6455.hpp"
#include "streams.hpp"

namespace switchboard::beast::detail {

/** What push() did with a message. */
enum class Pushed {
    queued,    ///< it will be written
    busy,      ///< a routed message refused: the queue holds half its bound (the sender gets `recipient-busy`)
    overflow,  ///< a server message over the bound: nothing more is accepted, what waited is dropped; close as too slow
    dropped,   ///< the connection is closing: dropped, as every message sent to it from now on
};

template <class Next>
class OutgoingQueue {
public:
    using Message = std::shared_ptr<const std::string>;

    /** `options` (the bounds, TransportOptions::queue_max_*) must outlive the queue: the adapter's state holds them. */
    OutgoingQueue(Next& next, const TransportOptions& options) : next_(next), options_(options) {}

    // ---- any thread ----

    /**
     * Queues one text message. A `routed` one (from another user) is
     * refused once the waiting messages hold half of either bound; the
     * server's own messages may fill the rest, and one that would overflow
     * it seals the queue. So other users can never get a client that reads
     * closed: they get `recipient-busy` instead. An empty queue accepts one
     * message however large.
     */
    Pushed push(Message text, bool routed) {
        std::unique_lock lock(mutex_);
        if (intake_ != Intake::everything) return Pushed::dropped;
        const std::size_t n = text->size();
        if (waiting_messages_ > 0) {
            const auto max_messages = options_.queue_max_messages, max_bytes = options_.queue_max_bytes;
            if (routed && (waiting_messages_ >= max_messages / 2 || waiting_bytes_ + n > max_bytes / 2))
                return Pushed::busy;
            if (waiting_messages_ >= max_messages || waiting_bytes_ + n > max_bytes) {
                seal_and_discard();
                return Pushed::overflow;
            }
        }
        ++waiting_messages_;
        waiting_bytes_ += n;
        waiting_.push_back(Frame{server_frame_header(Opcode::text, n), std::move(text)});
        write_soon(lock);
        return Pushed::queued;
    }

    /** No more text messages are accepted (what waits still goes out). True for the first caller only. */
    bool seal() {
        std::lock_guard lock(mutex_);
        if (intake_ != Intake::everything) return false;
        intake_ = Intake::control_frames;
        return true;
    }

    /** seal() was called, or the queue overflowed, or the connection is failing: text messages are dropped. */
    bool sealed() {
        std::lock_guard lock(mutex_);
        return intake_ != Intake::everything;
    }

    // ---- on the strand ----

    /** The 101 is out: writing may begin. `owner` is kept alive while a write is in flight. */
    void start(std::weak_ptr<void> owner) {
        std::unique_lock lock(mutex_);
        owner_ = std::move(owner);
        started_ = true;
        write_soon(lock);
    }

    /**
     * Queues a control frame (payload at most 125 bytes) behind everything
     * waiting. A pong still waiting is replaced by the newer one: it
     * answers only the latest ping (RFC 6455 5.5.3), so a client that floods
     * pings and never reads costs one frame. A close frame seals the queue,
     * and nothing is queued after it.
     */
    void control(Opcode opcode, std::string_view payload) {
        std::unique_lock lock(mutex_);
        if (intake_ == Intake::nothing) return;
        Frame frame{server_frame_header(opcode, payload.size()), std::make_shared<const std::string>(payload)};
        if (opcode == Opcode::close) intake_ = Intake::nothing;
        if (opcode == Opcode::pong && waiting_pong_ < waiting_.size()) {
            waiting_[waiting_pong_] = std::move(frame);
            return;
        }
        if (opcode == Opcode::pong) waiting_pong_ = waiting_.size();
        waiting_.push_back(std::move(frame));
        write_soon(lock);
    }

    /** Drops the text messages waiting and accepts no more (the connection is failing or answering a close). */
    void discard() {
        std::lock_guard lock(mutex_);
        seal_and_discard();
    }

    /** A close frame has been queued, or the socket failed: nothing more will be. */
    bool close_queued() {
        std::lock_guard lock(mutex_);
        return close_queued_or_failed();
    }

    /** Calls `done(ec)` once everything queued so far is written (ec: the write failed); at once if it is. */
    void when_written(std::function<void(boost::beast::error_code)> done) {
        std::unique_lock lock(mutex_);
        if (error_ || (!writing_ && waiting_.empty())) {
            auto ec = error_;
            lock.unlock();
            done(ec);
            return;
        }
        written_ = std::make_unique<std::function<void(boost::beast::error_code)>>(std::move(done));
    }

private:
    struct Frame {
        FrameHeader header;
        Message payload;
    };

    /** Under mutex_: start a write unless one is in flight or about to be. */
    void write_soon(std::unique_lock<std::mutex>& lock) {
        if (writing_ || !started_ || waiting_.empty()) return;
        auto owner = owner_.lock();
        if (!owner) return;  // the session is being destroyed
        writing_ = true;
        lock.unlock();
        boost::asio::post(next_.get_executor(), [this, owner = std::move(owner)]() mutable { write_waiting(owner); });
    }

    bool close_queued_or_failed() const { return intake_ == Intake::nothing; }

    /** Under mutex_. Releases the storage too: a closing connection keeps nothing. */
    void seal_and_discard() {
        if (intake_ == Intake::everything) intake_ = Intake::control_frames;
        std::vector<Frame>().swap(waiting_);
        waiting_messages_ = waiting_bytes_ = 0;
        waiting_pong_ = no_pong;
    }

    /** On the strand, writing_ set: sends everything waiting, or ends the burst when nothing is. */
    void write_waiting(std::shared_ptr<void>& owner) {
        std::unique_lock lock(mutex_);
        if (waiting_.empty() || error_) {
            writing_ = false;
            // Drained: an idle connection keeps no queue storage.
            std::vector<Frame>().swap(waiting_);
            std::vector<Frame>().swap(in_flight_);
            std::vector<boost::asio::const_buffer>().swap(buffers_);
            auto done = std::move(written_);
            auto ec = error_;
            lock.unlock();
            if (done) (*done)(ec);
            return;
        }
        in_flight_.swap(waiting_);
        waiting_.clear();
        waiting_messages_ = waiting_bytes_ = 0;
        waiting_pong_ = no_pong;
        lock.unlock();
        buffers_.clear();
        buffers_.reserve(2 * in_flight_.size());
        for (const auto& f : in_flight_) {
            buffers_.emplace_back(f.header.bytes.data(), f.header.size);
            if (!f.payload->empty()) buffers_.emplace_back(f.payload->data(), f.payload->size());
        }
        sent_ = 0;
        write_some(std::move(owner));
    }

    /** A view of buffers_[sent_..]: asio copies the sequence into each operation, so not the vector itself. */
    struct Unsent {
        const boost::asio::const_buffer* first;
        const boost::asio::const_buffer* last;
        const boost::asio::const_buffer* begin() const noexcept { return first; }
        const boost::asio::const_buffer* end() const noexcept { return last; }
    };

    /**
     * One write_some per step rather than asio::async_write, which passes at
     * most 16 buffers (8 frames) per call; a socket takes up to 64.
     */
    void write_some(std::shared_ptr<void> owner) {
        Unsent rest{buffers_.data() + sent_, buffers_.data() + buffers_.size()};
        next_.async_write_some(rest,
                               [this, owner = std::move(owner)](boost::beast::error_code ec, std::size_t n) mutable {
                                   if (ec) return fail(ec, owner);
                                   while (sent_ < buffers_.size() && n >= buffers_[sent_].size())
                                       n -= buffers_[sent_++].size();
                                   if (sent_ < buffers_.size()) {
                                       buffers_[sent_] += n;  // a partial send: go on from where it stopped
                                       return write_some(std::move(owner));
                                   }
                                   in_flight_.clear();
                                   write_waiting(owner);
                               });
    }

    /** The socket failed: nothing more is written, and shutting it down makes the session's read fail too. */
    void fail(boost::beast::error_code ec, std::shared_ptr<void>& owner) {
        {
            std::lock_guard lock(mutex_);
            error_ = ec;
            seal_and_discard();
            intake_ = Intake::nothing;
        }
        in_flight_.clear();
        shut_down(next_);
        write_waiting(owner);
    }

    Next& next_;
    const TransportOptions& options_;
    std::weak_ptr<void> owner_;

    // Strand-only: the write in flight.
    std::vector<Frame> in_flight_;
    std::vector<boost::asio::const_buffer> buffers_;  // what in_flight_ puts on the wire
    std::size_t sent_ = 0;                            // buffers_[..sent_] are written

    std::mutex mutex_;  // guards the members below
    /** Frames waiting for the write in flight. A vector, not a deque, so an idle connection allocates nothing. */
    std::vector<Frame> waiting_;
    std::size_t waiting_messages_ = 0;  // text messages in waiting_, and their bytes: what the bounds count
    std::size_t waiting_bytes_ = 0;
    static constexpr std::size_t no_pong = static_cast<std::size_t>(-1);
    std::size_t waiting_pong_ = no_pong;  // index in waiting_ of a pong not yet in flight
    /** when_written's callback: allocated only on a connection's way out, so an open one keeps 8 bytes for it. */
    std::unique_ptr<std::function<void(boost::beast::error_code)>> written_;
    boost::beast::error_code error_;  // the socket failed
    /** What is still accepted: everything, then (sealed, closing) control frames only, then (close frame queued, or
     * failed) nothing. */
    enum class Intake { everything, control_frames, nothing } intake_ = Intake::everything;
    bool started_ = false;  // the 101 is out
    bool writing_ = false;  // a write is in flight or posted
};

}  // namespace switchboard::beast::detail

// Internal to switchboard_beast: one WebSocket between a client and the
// hub, from its admitted upgrade to its close. Instantiated for a bare TCP
// socket and for TLS (upgrade.cpp).
//
// A message's path, top to bottom of this file:
//   client -> socket -> on_readable / on_read -> FrameReader::parse
//     -> on_text -> Hub::receive -> (the recipient's) HubConnection::send
//     -> OutgoingQueue::push -> one gathered write -> recipient's socket.
//
// Beast answers the upgrade (the 101 and its headers); from then on the
// session speaks RFC 6455 itself (rfc6455.hpp). That keeps per-connection
// state small (no Beast stream: its 1.5 KB read buffer and timers) and lets
// one read route every frame it brought before anything is written.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "adapter_state.hpp"
#include "hub_connection.hpp"
#include "keepalive.hpp"
#include "outgoing_queue.hpp"
#include "rfc6455.hpp"
#include "upgrade_response.hpp"

namespace switchboard::beast::detail {

template <class Next>
class WebSocketSession;

/**
 * Threads: everything runs on the connection's strand except push() and
 * close(), which the hub calls from whichever thread routed a message:
 * they only touch the queue (under its lock) and post to the strand.
 */
template <class Next>
class WebSocketSession final : public Closable, public std::enable_shared_from_this<WebSocketSession<Next>> {
    using Executor = typename Next::executor_type;
    using Timer = boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                                    boost::asio::wait_traits<std::chrono::steady_clock>, Executor>;
    using error_code = boost::beast::error_code;

public:
    /** Where the connection is in its life. Read and changed on the strand only. */
    enum class Phase {
        handshake,  ///< Beast is writing the 101; the queue holds what comes next
        open,       ///< the user is in the hub (or was refused, and the hub's close is on its way)
        closing,    ///< the user has left the hub; the closing handshake runs, for close_timeout at most
        closed,     ///< nothing more is read or written (over TLS, close_notify may still be exchanged)
    };

    WebSocketSession(std::shared_ptr<Adapter::State> state, Next stream)
        : state_(std::move(state)),
          stream_(std::move(stream)),
          queue_(stream_, state_->options),
          reader_(state_->read_message_max),
          keepalive_(stream_.get_executor()) {}

    ~WebSocketSession() override {
        // Only when the io_context was destroyed with this connection still running.
        if (session_) state_->hub.leave(*session_);
        state_->remove(this);
    }

    /** Beast writes the 101. `already_read`: frames the client sent before it, parsed once the user is in. */
    void start(HttpRequest request, Admission admission, std::string already_read) {
        end_http_timeouts(boost::beast::get_lowest_layer(stream_));
        upgrade_ = std::make_unique<UpgradeResponse<Next>>(std::move(request), std::move(admission),
                                                           std::move(already_read), stream_);
        upgrade_->write(state_->options.handshake_timeout,
                        boost::beast::bind_front_handler(&WebSocketSession::on_accepted, this->shared_from_this()));
    }

    // ---- any thread ----

    /** A message from the hub. False: a routed one refused, its sender gets `recipient-busy`. */
    bool push(std::shared_ptr<const std::string> text, bool routed) {
        switch (queue_.push(std::move(text), routed)) {
            case Pushed::busy:
                return false;
            case Pushed::overflow:
                on_strand([](WebSocketSession& s) { s.close_too_slow(); });
                return true;
            default:
                return true;
        }
    }

    /** Hub::disconnect, a refused join, shutdown: from now on sends are dropped, and our close goes out after what
     * waits. */
    void close(int code, std::string_view reason) override {
        if (!queue_.seal()) return;  // closing already
        on_strand([code, reason = std::string(reason)](WebSocketSession& s) { s.begin_close(code, reason); });
    }

    // ---- FrameReader's sink, on the strand ----

    void on_text(std::string_view message) {
        if (session_ && accepting_messages()) state_->hub.receive(*session_, message);
    }

    void on_binary() {
        if (!accepting_messages()) return;
        state_->hub.count_transport_close(transport_close::binary_frame);
        state_->log(LogLevel::info, "closing {}: sent a binary frame", label());
        close(close_code::unsupported_data, "binary frames are not supported");
    }

    void on_ping(std::string_view payload) { queue_.control(Opcode::pong, payload); }

    void on_pong() {}

    /** The client closed: we answer with its code (unless our close went out already) and hang up. */
    void on_close(int code, std::string_view) {
        queue_.discard();
        queue_.control(Opcode::close, code == close_status::no_status_received ? "" : close_payload(code, {}));
        hang_up_when_written();
    }

    /** The client broke the protocol: our close frame with `code`, and hang up. */
    void on_error(int code, const char* why) {
        if (code == close_code::message_too_big) {
            state_->hub.count_transport_close(transport_close::message_too_big);
            state_->log(LogLevel::info, "closing {}: message over {} bytes", label(), state_->read_message_max);
        } else {
            state_->log(LogLevel::info, "closing {}: {}", label(), why);
        }
        queue_.discard();
        queue_.control(Opcode::close, close_payload(code, why));
        hang_up_when_written();
    }

private:
    /** Runs `f(*this)` on the strand. */
    template <class F>
    void on_strand(F f) {
        boost::asio::post(stream_.get_executor(), [self = this->shared_from_this(), f = std::move(f)] { f(*self); });
    }

    void on_accepted(error_code ec) {
        auto upgrade = std::move(upgrade_);  // Beast's part is over
        if (ec || phase_ == Phase::closed) {
            if (ec) state_->log(LogLevel::debug, "WebSocket handshake failed: {}", ec.message());
            return hang_up();
        }
        count_.count(state_->websockets);
        if constexpr (is_bare_socket<Next>::value) {
            error_code ignored;
            stream_.non_blocking(true, ignored);  // reads after readiness never wait
        }
        queue_.start(this->weak_from_this());
        arm_keepalive();
        if (phase_ == Phase::handshake) {
            phase_ = Phase::open;
            // open() sends `login` through the connection: the queue has started, and we are on the strand.
            // A null session means the hub refused the join: it queued the error and asked us to close.
            session_ = state_->hub.open(std::move(upgrade->admission),
                                        std::make_shared<HubConnection<Next>>(this->weak_from_this()));
        }
        // Otherwise shutdown reached us during the handshake: our close frame follows the 101.
        parse_early_frames(upgrade->early_frames);
        do_read();  // until the close ends, whatever happened above
    }

    // ---- reading ----

    void do_read() {
        if (phase_ == Phase::closed || reader_.done()) return;
        if constexpr (is_bare_socket<Next>::value) {
            stream_.async_wait(
                boost::asio::socket_base::wait_read,
                boost::beast::bind_front_handler(&WebSocketSession::on_readable, this->shared_from_this()));
        } else {
            auto size = std::max(tls_read_bytes, reader_.wanted());
            stream_.async_read_some(buffer_.prepare(size), boost::beast::bind_front_handler(&WebSocketSession::on_read,
                                                                                            this->shared_from_this()));
        }
    }

    /** Bare socket: data is waiting; read it into this thread's buffer. */
    void on_readable(error_code ec) {
        if (ec) return gone(ec);
        thread_local std::vector<char> scratch(64 * 1024);
        std::size_t n = stream_.read_some(boost::asio::buffer(scratch), ec);
        if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) return do_read();
        if (ec) return gone(ec);
        keepalive_.heard();
        if (buffer_.size() == 0) {
            // The common case: parse straight from the scratch buffer, keep only an incomplete frame.
            auto used = reader_.parse(scratch.data(), n, *this);
            if (used < n && !reader_.done()) keep(scratch.data() + used, n - used);
        } else {
            keep(scratch.data(), n);
            parse_buffer();
        }
        do_read();
    }

    /** TLS: bytes arrived in buffer_. */
    void on_read(error_code ec, std::size_t n) {
        if (ec) return gone(ec);
        keepalive_.heard();
        buffer_.commit(n);
        parse_buffer();
        do_read();
    }

    /** Frames sent before our 101 came with the request: the start of the stream. */
    void parse_early_frames(const std::string& early) {
        if (early.empty()) return;
        keepalive_.heard();
        keep(early.data(), early.size());
        parse_buffer();
    }

    void keep(const char* data, std::size_t n) {
        buffer_.commit(boost::asio::buffer_copy(buffer_.prepare(n), boost::asio::buffer(data, n)));
    }

    void parse_buffer() {
        auto data = buffer_.data();
        buffer_.consume(reader_.parse(static_cast<char*>(data.data()), data.size(), *this));
        if (buffer_.size() == 0 && buffer_.capacity() > tls_read_bytes) buffer_.shrink_to_fit();
    }

    /** Messages from the client still count: the connection is open and nobody asked to close it. */
    bool accepting_messages() { return phase_ == Phase::open && !queue_.sealed(); }

    // ---- keep-alive ----

    void arm_keepalive() {
        keepalive_.arm(state_->options.idle_timeout, [self = this->shared_from_this()] { self->on_keepalive(); });
    }

    void on_keepalive() {
        using Verdict = typename KeepAlive<Executor>::Verdict;
        if (phase_ != Phase::open) return;
        const auto verdict = keepalive_.verdict();
        if (verdict == Verdict::drop) return drop_silent();
        if (verdict == Verdict::ping) queue_.control(Opcode::ping, {});
        arm_keepalive();
    }

    /** No answer to keep-alive pings: the user may resume; our close is best effort. */
    void drop_silent() {
        if (!queue_.close_queued()) {
            state_->hub.count_transport_close(transport_close::keepalive_timeout);
            state_->log(LogLevel::info, "dropped {}: no answer to keep-alive pings", label());
            queue_.discard();
            queue_.control(Opcode::close, close_payload(close_code::policy_violation, "keep-alive timeout"));
        }
        departure_ = Departure::lost;
        hang_up_when_written();
    }

    // ---- closing: begin_close (ours), hang_up_when_written (after a close frame), hang_up (now) ----

    void close_too_slow() {
        state_->hub.count_transport_close(transport_close::slow_consumer);
        state_->log(LogLevel::info, "closing {}: too slow to read its messages", label());
        begin_close(close_code::policy_violation, "too slow");
    }

    /**
     * Our closing handshake: the user leaves the hub now; what was queued
     * goes out, then our close frame; the client's answer ends the
     * connection (on_close), or close_timeout does.
     */
    void begin_close(int code, const std::string& reason) {
        if (phase_ == Phase::closing || phase_ == Phase::closed) return;
        queue_.control(Opcode::close, close_payload(code, reason));
        enter_closing();
    }

    /** A close frame is queued (an answer, or a failure): hang up once it is written. */
    void hang_up_when_written() {
        if (phase_ == Phase::closed) return;
        enter_closing();
        queue_.when_written([self = this->shared_from_this()](error_code ec) {
            if (ec) return self->hang_up();
            self->end_tls_then_hang_up();
        });
    }

    /** The user leaves the hub (the others get `user-left`, unless it may resume); the close is bounded in time. */
    void enter_closing() {
        if (phase_ != Phase::handshake && phase_ != Phase::open) return;
        phase_ = Phase::closing;
        leave_hub();
        close_timer_ = std::make_unique<Timer>(stream_.get_executor(), state_->options.close_timeout);
        close_timer_->async_wait([self = this->shared_from_this()](error_code ec) {
            if (ec || self->phase_ == Phase::closed) return;
            self->state_->log(LogLevel::debug, "{}: closing handshake timed out", self->label());
            self->hang_up();
        });
    }

    /**
     * TLS ends its session with close_notify (the client's answer waited
     * for at most close_timeout) before the TCP close, so clients see
     * a clean end instead of a truncated stream; only when no read is in
     * flight (the reader is done).
     */
    void end_tls_then_hang_up() {
        if constexpr (std::is_same_v<Next, TlsStream>) {
            if (phase_ == Phase::closed || !reader_.done()) return hang_up();
            phase_ = Phase::closed;
            queue_.discard();
            if (close_timer_) close_timer_->cancel();
            end_tls_then_close(stream_, state_->options.close_timeout, this->shared_from_this());
        } else {
            hang_up();
        }
    }

    /** The socket failed, or the client hung up without a close frame: the user may resume. */
    void gone(error_code ec) {
        if (ec != boost::asio::error::operation_aborted) {
            state_->log(LogLevel::debug, "{} gone: {}", label(), ec.message());
            if (accepting_messages()) departure_ = Departure::lost;
        }
        hang_up();
    }

    /** Now: leave the hub, close the socket. */
    void hang_up() {
        if (phase_ == Phase::closed) return;
        phase_ = Phase::closed;
        queue_.discard();
        leave_hub();
        if (close_timer_) close_timer_->cancel();
        close_socket(stream_);
    }

    /** Once: the hub forgets the user (the others get `user-left`, unless it may resume); keep-alive ends. */
    void leave_hub() {
        keepalive_.cancel();
        if (auto session = std::move(session_)) state_->hub.leave(*session, departure_);
    }

    std::string label() const { return session_ ? fmt::format("user {}", session_->id()) : std::string("a client"); }

    /** TLS reads: a candidate message fits in one. */
    static constexpr std::size_t tls_read_bytes = 512;

    std::shared_ptr<Adapter::State> state_;
    Next stream_;
    OutgoingQueue<Next> queue_;
    FrameReader reader_;
    KeepAlive<Executor> keepalive_;
    /** Armed by a close; a connection that never closes never allocates it. */
    std::unique_ptr<Timer> close_timer_;
    /** An incomplete frame (bare socket), or what TLS read (TLS); empty and unallocated when idle on a bare socket. */
    boost::beast::flat_buffer buffer_;
    std::unique_ptr<UpgradeResponse<Next>> upgrade_;  ///< until the 101 is out
    std::shared_ptr<Session> session_;                ///< while the user is in the hub
    ConnectionCount count_;                           ///< from the 101 on
    Phase phase_ = Phase::handshake;
    /** How the user leaves the hub: `lost` once the connection broke without a close handshake. */
    Departure departure_ = Departure::closed;
};

}  // namespace switchboard::beast::detail

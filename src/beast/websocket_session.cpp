// One WebSocket between a client and the hub: admission, the read loop, the
// bounded write queue, closing. Instantiated for plain TCP and for TLS.
#include "batching_stream.hpp"
#include "detail.hpp"
#include "frame_reader.hpp"
#include "upgrade_request.hpp"

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace switchboard::beast {

namespace net = boost::asio;
namespace bb = boost::beast;
namespace http = bb::http;
namespace websocket = bb::websocket;

// ---- Adapter::State ----

Adapter::State::State(Hub& hub_, TransportOptions options_)
    : hub(hub_),
      options(options_),
      read_message_max(options_.read_message_max ? options_.read_message_max
                                                 : hub_.options().limits.max_message_bytes) {}

bool Adapter::State::add(const std::shared_ptr<detail::Link>& link) {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    links_.emplace(link.get(), link);
    return true;
}

void Adapter::State::remove(const detail::Link* link) {
    std::unique_lock lock(mutex_);
    links_.erase(link);
    maybe_drained(lock);
}

bool Adapter::State::begin_http(const std::string& address) {
    const auto& proxies = hub.options().trusted_proxies;
    const bool proxy = std::find(proxies.begin(), proxies.end(), address) != proxies.end();
    const char* refused = nullptr;
    {
        std::lock_guard lock(mutex_);
        auto& from_address = handshakes_[address];
        if (options.max_http_connections != 0 && http_connections_ >= options.max_http_connections)
            refused = "too-many-http-connections";
        else if (!proxy && options.max_handshakes_per_address != 0 &&
                 from_address >= options.max_handshakes_per_address)
            refused = "too-many-handshakes";
        if (!refused) {
            ++http_connections_;
            ++from_address;
        } else if (from_address == 0) {
            handshakes_.erase(address);
        }
    }
    if (!refused) return true;
    hub.count_transport_close(refused);
    log(LogLevel::info, "refused a connection from {}: {}", address, refused);
    return false;
}

void Adapter::State::end_http(const std::string& address) {
    std::lock_guard lock(mutex_);
    --http_connections_;
    auto it = handshakes_.find(address);
    if (it != handshakes_.end() && --it->second == 0) handshakes_.erase(it);
}

bool Adapter::State::stopping() const {
    std::lock_guard lock(mutex_);
    return stopping_;
}

void Adapter::State::close_all(int code) {
    std::vector<std::shared_ptr<detail::Link>> targets;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (auto& [key, weak] : links_)
            if (auto link = weak.lock()) targets.push_back(std::move(link));
    }
    log(LogLevel::info, "closing {} connection(s)", targets.size());
    // Links call back into remove() from their destructors: not under our lock.
    for (auto& link : targets)
        link->close(code, "server shutting down");
    targets.clear();
    std::unique_lock lock(mutex_);
    maybe_drained(lock);
}

void Adapter::State::on_drained(std::function<void()> callback) {
    std::unique_lock lock(mutex_);
    on_drained_ = std::move(callback);
    maybe_drained(lock);
}

void Adapter::State::maybe_drained(std::unique_lock<std::mutex>& lock) {
    if (!stopping_ || !links_.empty() || !on_drained_) return;
    auto callback = std::move(on_drained_);
    on_drained_ = nullptr;
    lock.unlock();
    callback();
}

// ---- Adapter ----

Adapter::Adapter(Hub& hub, TransportOptions options) : state_(std::make_shared<State>(hub, options)) {}

Adapter::~Adapter() = default;

void Adapter::close_all(int code) {
    state_->close_all(code);
}

std::size_t Adapter::connection_count() const {
    return state_->websockets.load();
}

const TransportOptions& Adapter::options() const noexcept {
    return state_->options;
}

void Adapter::serve(net::ip::tcp::socket socket, HttpRequest request, std::string_view already_read) {
    // The connection needs a strand of its own, whatever executor the
    // caller's socket was accepted on.
    detail::set_no_delay(socket);
    detail::rehome_on_strand(std::move(socket), [state = state_, r = std::move(request),
                                                 early = std::string(already_read)](auto stream) mutable {
        detail::serve_upgrade(state, std::move(stream), std::move(r), std::move(early));
    });
}

namespace detail {

namespace {

std::string to_string(bb::string_view s) {
    return std::string(s.data(), s.size());
}

/** The TCP socket at the bottom of a stack: a basic_stream's, or the socket itself once unwrapped. */
template <class Protocol, class Executor, class RatePolicy>
auto& tcp_socket(bb::basic_stream<Protocol, Executor, RatePolicy>& stream) {
    return stream.socket();
}
template <class Protocol, class Executor>
auto& tcp_socket(net::basic_stream_socket<Protocol, Executor>& socket) {
    return socket;
}

template <class Next>
void close_lowest_layer(Next& stream) {
    bb::error_code ignored;
    tcp_socket(bb::get_lowest_layer(stream)).shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    tcp_socket(bb::get_lowest_layer(stream)).close(ignored);
}

/** A basic_stream's own timeouts end with the HTTP phase: the WebSocket has its own. */
template <class Protocol, class Executor, class RatePolicy>
void end_http_timeouts(bb::basic_stream<Protocol, Executor, RatePolicy>& stream) {
    stream.expires_never();
}
template <class Protocol, class Executor>
void end_http_timeouts(net::basic_stream_socket<Protocol, Executor>&) {}

/**
 * What a WebSocket runs on once the upgrade is admitted. A plain
 * connection drops its basic_stream (two timers and their state, about a
 * kilobyte per connection) and keeps the bare socket; TLS cannot be
 * unwrapped and keeps its stream.
 */
PlainStream::socket_type websocket_layer(PlainStream&& stream) {
    return stream.release_socket();
}
GenericStream::socket_type websocket_layer(GenericStream&& stream) {
    return stream.release_socket();
}
TlsStream websocket_layer(TlsStream&& stream) {
    return std::move(stream);
}

/** Writes one HTTP response (a refused upgrade) and hangs up. */
template <class Next>
class Refusal : public std::enable_shared_from_this<Refusal<Next>> {
public:
    Refusal(Next stream, HttpResponse response) : stream_(std::move(stream)), response_(std::move(response)) {}

    void start(std::chrono::milliseconds timeout) {
        bb::get_lowest_layer(stream_).expires_after(timeout);
        http::async_write(stream_, response_, [self = this->shared_from_this()](bb::error_code, std::size_t) {
            close_lowest_layer(self->stream_);
        });
    }

private:
    Next stream_;
    HttpResponse response_;
};

template <class Next>
void refuse(const std::shared_ptr<Adapter::State>& state, Next stream, const HttpRequest& request, http::status status,
            const std::string& reason) {
    HttpResponse response{status, request.version()};
    response.set(http::field::server, "switchboard");
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.keep_alive(false);
    response.body() = reason;
    response.prepare_payload();
    std::make_shared<Refusal<Next>>(std::move(stream), std::move(response))->start(state->options.handshake_timeout);
}

template <class Next>
class WebSocketSession;

/** The hub's handle on a WebSocket: a weak reference, so the hub never keeps a dead socket alive. */
template <class Next>
class HubConnection final : public Connection {
public:
    explicit HubConnection(std::weak_ptr<WebSocketSession<Next>> session) : session_(std::move(session)) {}
    void send(std::shared_ptr<const std::string> text) override {
        if (auto s = session_.lock()) s->push(std::move(text), false);
    }
    bool offer(std::shared_ptr<const std::string> text) override {
        auto s = session_.lock();
        return !s || s->push(std::move(text), true);  // a connection already gone drops it, as send does
    }
    void close(int code, std::string_view reason) override {
        if (auto s = session_.lock()) s->close(code, reason);
    }

private:
    std::weak_ptr<WebSocketSession<Next>> session_;
};

/** Asio sockets can wait for readability without a buffer; TLS streams cannot. */
template <class T>
struct is_bare_socket : std::false_type {};
template <class Protocol, class Executor>
struct is_bare_socket<net::basic_stream_socket<Protocol, Executor>> : std::true_type {};

/** TLS streams end their TLS session (close_notify) before the TCP close. */
template <class T>
struct is_tls_stream : std::false_type {};
template <class Inner>
struct is_tls_stream<bb::ssl_stream<Inner>> : std::true_type {};

/**
 * One WebSocket after its upgrade was admitted. Beast answers the upgrade
 * (the 101 and its headers); from then on the session speaks RFC 6455
 * itself: FrameReader parses what the client sends, BatchingStream frames
 * what it is sent. That keeps per-connection state small (no Beast stream:
 * its 1.5 KB read buffer and timers) and lets one read route every frame it
 * brought before anything is written.
 *
 * Reads: a bare socket waits for readability with no buffer of its own and
 * then reads into a per-thread buffer, so an idle plain connection holds no
 * read buffer at all; only an incomplete frame is kept. TLS reads into a
 * small per-connection buffer.
 *
 * Threads: everything but send() and close() runs on the connection's
 * strand. Those two take `mutex_` (guarding the queue and the closing
 * state), and post to the strand only to start a write burst or a close,
 * never once per message.
 *
 * Writes: whatever is queued when the previous write ends goes out as one
 * batch, every frame in one gathered send (BatchingStream).
 */
template <class Next>
class WebSocketSession final : public Link,
                               public WriteListener,
                               public std::enable_shared_from_this<WebSocketSession<Next>> {
    using Executor = typename Next::executor_type;
    using Timer =
        net::basic_waitable_timer<std::chrono::steady_clock, net::wait_traits<std::chrono::steady_clock>, Executor>;

public:
    WebSocketSession(std::shared_ptr<Adapter::State> state, Next stream)
        : state_(std::move(state)),
          stream_(std::move(stream)),
          reader_(state_->read_message_max),
          keepalive_(stream_.get_executor()) {}

    ~WebSocketSession() override {
        // Only when the io_context was destroyed with this connection still running.
        if (session_) state_->hub.leave(*session_);
        if (counted_) --state_->websockets;
        state_->remove(this);
    }

    /** `already_read`: bytes read past the upgrade request (frames of a client that did not wait for the 101). */
    void start(HttpRequest request, Admission admission, std::string already_read) {
        const auto& o = state_->options;
        end_http_timeouts(bb::get_lowest_layer(stream_.next_layer()));
        stream_.set_listener(this->weak_from_this());
        handshake_ = std::make_unique<Handshaking>(std::move(request), std::move(admission), std::move(already_read),
                                                   stream_.next_layer());
        auto& ws = handshake_->ws;
        websocket::stream_base::timeout timeouts;
        timeouts.handshake_timeout = o.handshake_timeout;
        timeouts.idle_timeout = websocket::stream_base::none();
        timeouts.keep_alive_pings = false;
        ws.set_option(timeouts);
        ws.set_option(websocket::stream_base::decorator(
            [](websocket::response_type& response) { response.set(http::field::server, "switchboard"); }));
        ws.async_accept(handshake_->request,
                        bb::bind_front_handler(&WebSocketSession::on_accept, this->shared_from_this()));
    }

    // ---- any thread ----

    /**
     * Queue one message. A `routed` one (from another user) is refused,
     * false, once the queue holds half its bound; the server's own messages
     * may fill the rest, and one that would overflow it closes the
     * connection as too slow. So other users can never get a client that
     * reads closed: they get `recipient-busy` instead.
     */
    bool push(std::shared_ptr<const std::string> text, bool routed) {
        std::unique_lock lock(mutex_);
        if (closing_) return true;  // dropped, like everything sent to a closing connection
        const auto& o = state_->options;
        const std::size_t share = routed ? 2 : 1;
        if (!queue_.empty() && routed &&
            (queue_.size() >= o.queue_max_messages / share || queued_bytes_ + text->size() > o.queue_max_bytes / share))
            return false;
        if (!queue_.empty() &&
            (queue_.size() >= o.queue_max_messages || queued_bytes_ + text->size() > o.queue_max_bytes)) {
            closing_ = true;
            close_code_ = close_code::policy_violation;
            close_reason_ = "too slow";
            clear_queue();
            lock.unlock();
            state_->hub.count_transport_close("slow-consumer");
            state_->log(LogLevel::info, "closing {}: too slow to read its messages", label());
            net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->begin_close(); });
            return true;
        }
        queued_bytes_ += text->size();
        queue_.push_back(std::move(text));
        if (write_scheduled_) return true;
        write_scheduled_ = true;
        lock.unlock();
        net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->pump(); });
        return true;
    }

    void close(int code, std::string_view reason) override {
        {
            std::lock_guard lock(mutex_);
            if (closing_) return;
            closing_ = true;
            close_code_ = code;
            close_reason_ = std::string(reason);
        }
        net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->begin_close(); });
    }

    // ---- FrameReader's sink, on the strand ----

    void on_text(std::string_view message) {
        if (session_ && !is_closing()) state_->hub.receive(*session_, message);
    }

    void on_binary() {
        if (is_closing()) return;
        state_->hub.count_transport_close("binary-frame");
        state_->log(LogLevel::info, "closing {}: sent a binary frame", label());
        close(close_code::unsupported_data, "binary frames are not supported");
    }

    void on_ping(std::string_view payload) { stream_.write_control(0xA, payload); }

    void on_pong() {}

    /**
     * The client closed: it leaves the hub now, whatever the state of our
     * writes; we answer with the same code (unless we already sent ours)
     * and hang up once that is out, or after handshake_timeout.
     */
    void on_close(int code, std::string_view) {
        stop_sending();
        if (!stream_.close_sent()) stream_.write_control(0x8, code == 1005 ? std::string() : close_payload(code, {}));
        finish_close();
    }

    /** The client broke the protocol: fail the connection with `code` at once. */
    void on_error(int code, const char* why) {
        if (code == close_code::message_too_big) {
            state_->hub.count_transport_close("message-too-big");
            state_->log(LogLevel::info, "closing {}: message over {} bytes", label(), state_->read_message_max);
        } else {
            state_->log(LogLevel::info, "closing {}: {}", label(), why);
        }
        stop_sending();
        stream_.write_control(0x8, close_payload(code, why));
        finish_close();
    }

private:
    // ---- on the strand ----

    void on_accept(bb::error_code ec) {
        accepted_ = true;
        auto handshake = std::move(handshake_);  // Beast's part is over
        if (ec) {
            state_->log(LogLevel::debug, "WebSocket handshake failed: {}", ec.message());
            teardown();
            return;
        }
        ++state_->websockets;
        counted_ = true;
        if constexpr (is_bare_socket<Next>::value) {
            bb::error_code ignored;
            stream_.next_layer().non_blocking(true, ignored);  // reads after readiness never wait
        }
        arm_keepalive();
        if (is_closing()) {
            // Shutdown reached us while the 101 was being written: close
            // without joining the hub, and read until the close ends.
            pump();
            parse_early_frames(handshake->early_frames);
            do_read();
            return;
        }
        // open() sends `login` through the connection, so the read loop and
        // the queue must be ready first: they are (we are on the strand).
        session_ = state_->hub.open(std::move(handshake->admission),
                                    std::make_shared<HubConnection<Next>>(this->weak_from_this()));
        parse_early_frames(handshake->early_frames);
        // A null session means the hub refused the join: it already queued
        // the error and asked us to close; keep reading until the close ends.
        do_read();
    }

    void do_read() {
        if (torn_down_ || reader_.done()) return;
        if constexpr (is_bare_socket<Next>::value) {
            stream_.next_layer().async_wait(
                net::socket_base::wait_read,
                bb::bind_front_handler(&WebSocketSession::on_readable, this->shared_from_this()));
        } else {
            auto size = std::max(tls_read_bytes, reader_.wanted());
            stream_.async_read_some(buffer_.prepare(size),
                                    bb::bind_front_handler(&WebSocketSession::on_read, this->shared_from_this()));
        }
    }

    /** Bare socket: data is waiting; read it into this thread's buffer. */
    void on_readable(bb::error_code ec) {
        if (ec) return gone(ec);
        thread_local std::vector<char> scratch(64 * 1024);
        std::size_t n = stream_.next_layer().read_some(net::buffer(scratch), ec);
        if (ec == net::error::would_block || ec == net::error::try_again) return do_read();
        if (ec) return gone(ec);
        got_data_ = true;
        if (buffer_.size() == 0) {
            // The common case: parse straight from the scratch buffer, keep only an incomplete frame.
            auto used = reader_.parse(scratch.data(), n, *this);
            if (used < n && !reader_.done()) {
                auto rest = net::buffer(scratch.data() + used, n - used);
                buffer_.commit(net::buffer_copy(buffer_.prepare(rest.size()), rest));
            }
        } else {
            buffer_.commit(net::buffer_copy(buffer_.prepare(n), net::buffer(scratch.data(), n)));
            parse_buffer();
        }
        do_read();
    }

    /**
     * Frames the client sent before our 101 came in with the request: they
     * are the start of the stream, parsed before anything from the socket.
     */
    void parse_early_frames(const std::string& early) {
        if (early.empty()) return;
        got_data_ = true;
        buffer_.commit(net::buffer_copy(buffer_.prepare(early.size()), net::buffer(early)));
        parse_buffer();
    }

    /** TLS: bytes arrived in buffer_. */
    void on_read(bb::error_code ec, std::size_t n) {
        if (ec) return gone(ec);
        got_data_ = true;
        buffer_.commit(n);
        parse_buffer();
        do_read();
    }

    void parse_buffer() {
        auto data = buffer_.data();
        buffer_.consume(reader_.parse(static_cast<char*>(data.data()), data.size(), *this));
        if (buffer_.size() == 0 && buffer_.capacity() > tls_read_bytes) buffer_.shrink_to_fit();
    }

    /** The socket failed or the client hung up. */
    void gone(bb::error_code ec) {
        if (ec != net::error::operation_aborted) state_->log(LogLevel::debug, "{} gone: {}", label(), ec.message());
        // No close frame came and we did not hang up ourselves: the user may resume.
        if (ec != net::error::operation_aborted && !is_closing()) departure_ = Departure::lost;
        teardown();
    }

    /**
     * Keep-alive: every half idle timeout, a connection that sent nothing
     * since the last look is pinged; one that still sent nothing (not even
     * the pong) by the next look is dropped.
     */
    void arm_keepalive() {
        auto idle = state_->options.idle_timeout;
        if (idle.count() <= 0) return;
        keepalive_.expires_after(idle / 2);
        keepalive_.async_wait([self = this->shared_from_this()](bb::error_code ec) {
            if (!ec) self->on_keepalive();
        });
    }

    void on_keepalive() {
        if (torn_down_) return;
        if (got_data_) {
            got_data_ = false;
            ping_sent_ = false;
        } else if (!ping_sent_) {
            ping_sent_ = true;
            stream_.write_control(0x9, {});
        } else {
            if (!stream_.close_sent()) {
                state_->hub.count_transport_close("keepalive-timeout");
                state_->log(LogLevel::info, "dropped {}: no answer to keep-alive pings", label());
                // Best effort: a peer that is really gone never reads it.
                stop_sending();
                stream_.write_control(0x8, close_payload(close_code::policy_violation, "keep-alive timeout"));
            }
            departure_ = Departure::lost;
            finish_close();
            return;
        }
        arm_keepalive();
    }

    bool is_closing() {
        std::lock_guard lock(mutex_);
        return closing_;
    }

    /**
     * Hands everything queued to the socket as one batch once the previous
     * write is done; closes once the queue is empty and a close was asked for.
     */
    void pump() {
        if (!accepted_ || torn_down_ || !stream_.idle()) return;
        std::unique_lock lock(mutex_);
        if (!queue_.empty()) {
            batch_.swap(queue_);
            queued_bytes_ = 0;
            lock.unlock();
            stream_.write_text(batch_);  // empties batch_
            return;
        }
        write_scheduled_ = false;
        // Drained: an idle connection keeps no queue storage.
        std::vector<std::shared_ptr<const std::string>>().swap(queue_);
        std::vector<std::shared_ptr<const std::string>>().swap(batch_);
        if (!closing_ || stream_.close_sent()) return;
        auto payload = close_payload(close_code_, close_reason_);
        lock.unlock();
        // Our close goes out; the client's answer ends the connection (on_close), or the timer does.
        stream_.write_control(0x8, payload);
    }

    void on_written(bb::error_code ec) override {
        if (ec) {
            if (ec != net::error::operation_aborted && !is_closing()) departure_ = Departure::lost;
            teardown();
            return;
        }
        pump();
    }

    /**
     * A close was asked for (by the hub, shutdown, or an overflow): the
     * user leaves the hub now; what was queued before the close goes out,
     * then our close frame, and the client's answer ends the connection
     * (on_close), or handshake_timeout does.
     */
    void begin_close() {
        if (torn_down_ || force_close_) return;
        arm_close_timer();
        leave_hub();
        pump();  // not before the handshake is done: on_accept pumps then
    }

    /** After the close handshake, or instead of it: leave the hub, hang up once our last frame is out. */
    void finish_close() {
        if (torn_down_) return;
        if (!force_close_) arm_close_timer();
        leave_hub();
        stream_.when_drained([self = this->shared_from_this()](bb::error_code ec) {
            if (ec) return self->teardown();
            self->end_tls_then_teardown();
        });
    }

    /** Whatever happens to our writes, the connection is gone handshake_timeout from now. */
    void arm_close_timer() {
        force_close_ = std::make_unique<Timer>(stream_.get_executor(), state_->options.handshake_timeout);
        force_close_->async_wait([self = this->shared_from_this()](bb::error_code ec) {
            if (!ec && !self->torn_down_) {
                self->state_->log(LogLevel::debug, "{}: closing handshake timed out", self->label());
                self->teardown();
            }
        });
    }

    /**
     * TLS: the user leaves the hub now, as on a plain socket; then the TLS
     * session ends with close_notify (and the client's answer, waited for at
     * most handshake_timeout) before the TCP close, so clients see a clean
     * end instead of a truncated stream. Only when no read is in flight
     * (the reader is done); closing has stopped every other writer.
     */
    void end_tls_then_teardown() {
        if constexpr (is_tls_stream<Next>::value) {
            if (torn_down_ || !reader_.done()) return teardown();
            leave_hub();
            torn_down_ = true;  // nothing else writes; only the TLS shutdown below, then the TCP close
            force_close_ = std::make_unique<Timer>(stream_.get_executor(), state_->options.handshake_timeout);
            force_close_->async_wait([self = this->shared_from_this()](bb::error_code ec) {
                if (!ec) close_lowest_layer(self->stream_);
            });
            stream_.next_layer().async_shutdown([self = this->shared_from_this()](bb::error_code) {
                self->force_close_->cancel();
                close_lowest_layer(self->stream_);
            });
        } else {
            teardown();
        }
    }

    /** The socket is gone (or going): leave, and close it. */
    void teardown() {
        if (torn_down_) return;
        torn_down_ = true;
        stop_sending();
        leave_hub();
        if (force_close_) force_close_->cancel();
        close_lowest_layer(stream_);
    }

    /**
     * Once: tell the hub (the others get `user-left`) and stop the
     * keep-alive. What is queued still goes out (an `error` before a close).
     */
    void leave_hub() {
        keepalive_.cancel();
        if (auto session = std::move(session_)) state_->hub.leave(*session, departure_);
    }

    /** No more messages are accepted, and the queued ones are dropped. */
    void stop_sending() {
        std::lock_guard lock(mutex_);
        closing_ = true;
        clear_queue();
    }

    /** Under mutex_. Releases the storage too: a closing connection keeps nothing. */
    void clear_queue() {
        std::vector<std::shared_ptr<const std::string>>().swap(queue_);
        queued_bytes_ = 0;
    }

    /** A close frame's payload: the code, then the reason cut to fit 125 bytes (at a character boundary). */
    static std::string close_payload(int code, std::string_view reason) {
        std::string payload;
        payload.push_back(static_cast<char>((code >> 8) & 0xff));
        payload.push_back(static_cast<char>(code & 0xff));
        if (reason.size() > 123) {
            reason = reason.substr(0, 123);
            while (!reason.empty() && !valid_utf8(reason))
                reason.remove_suffix(1);
        }
        payload.append(reason);
        return payload;
    }

    std::string label() const { return session_ ? fmt::format("user {}", session_->id()) : std::string("a client"); }

    std::shared_ptr<Adapter::State> state_;
    BatchingStream<Next> stream_;
    FrameReader reader_;
    Timer keepalive_;
    /** Armed by a close; a connection that never closes never allocates it. */
    std::unique_ptr<Timer> force_close_;
    /** An incomplete frame (bare socket), or what TLS read (TLS); empty and unallocated when idle on a bare socket. */
    bb::flat_buffer buffer_;
    /** Beast's part: the upgrade request, the admission and the stream that answers it, until the 101 is out. */
    struct Handshaking {
        Handshaking(HttpRequest r, Admission a, std::string early, Next& next)
            : request(std::move(r)), admission(std::move(a)), early_frames(std::move(early)), ws(next) {}
        HttpRequest request;
        Admission admission;
        std::string early_frames;  // sent before the 101: parsed once the user is in the hub
        websocket::stream<Next&, false> ws;
    };
    std::unique_ptr<Handshaking> handshake_;
    std::shared_ptr<Session> session_;
    std::vector<std::shared_ptr<const std::string>> batch_;  // swapped with queue_ to start a write
    bool counted_ = false;
    bool accepted_ = false;  // the 101 (or a failure) is done: writes may start
    bool torn_down_ = false;
    /** How the user leaves the hub: `lost` once the connection broke without a close handshake. */
    Departure departure_ = Departure::closed;
    bool got_data_ = false;   // since the last keep-alive look
    bool ping_sent_ = false;  // at the last keep-alive look

    /** TLS reads: a candidate message fits in one. */
    static constexpr std::size_t tls_read_bytes = 512;

    std::mutex mutex_;  // guards the members below
    /** Messages waiting for the write in flight. A vector, not a deque, so an idle connection allocates nothing. */
    std::vector<std::shared_ptr<const std::string>> queue_;
    std::size_t queued_bytes_ = 0;
    bool write_scheduled_ = false;
    bool closing_ = false;
    int close_code_ = close_code::normal;
    std::string close_reason_;
};

template <class Next>
void serve_upgrade_impl(const std::shared_ptr<Adapter::State>& state, Next stream, HttpRequest request,
                        std::string already_read) {
    if (!websocket::is_upgrade(request))
        return refuse(state, std::move(stream), request, http::status::bad_request, "not a WebSocket upgrade");
    if (auto bad = bad_upgrade(request))
        return refuse(state, std::move(stream), request, http::status::bad_request, bad->reason);
    if (state->stopping())
        return refuse(state, std::move(stream), request, http::status::service_unavailable, "server shutting down");
    bb::error_code ec;
    auto remote = tcp_socket(bb::get_lowest_layer(stream)).remote_endpoint(ec);
    Admission admission = state->hub.admit(make_handshake(request, ec ? nullptr : &remote));
    if (!admission)
        return refuse(state, std::move(stream), request, static_cast<http::status>(admission.status()),
                      admission.reason());
    auto layer = websocket_layer(std::move(stream));
    auto session = std::make_shared<WebSocketSession<decltype(layer)>>(state, std::move(layer));
    if (state->add(session)) session->start(std::move(request), std::move(admission), std::move(already_read));
}

}  // namespace

Handshake make_handshake(const HttpRequest& request, const net::ip::tcp::endpoint* remote) {
    Handshake handshake;
    std::string target = to_string(request.target());
    auto question = target.find('?');
    handshake.path = target.substr(0, question);
    if (question != std::string::npos) handshake.query = target.substr(question + 1);
    for (const auto& field : request)
        handshake.headers.emplace_back(to_string(field.name_string()), to_string(field.value()));
    if (remote) handshake.remote_address = remote->address().to_string();
    return handshake;
}

void serve_upgrade(const std::shared_ptr<Adapter::State>& state, PlainStream stream, HttpRequest request,
                   std::string already_read) {
    serve_upgrade_impl(state, std::move(stream), std::move(request), std::move(already_read));
}

void serve_upgrade(const std::shared_ptr<Adapter::State>& state, TlsStream stream, HttpRequest request,
                   std::string already_read) {
    serve_upgrade_impl(state, std::move(stream), std::move(request), std::move(already_read));
}

void serve_upgrade(const std::shared_ptr<Adapter::State>& state, GenericStream stream, HttpRequest request,
                   std::string already_read) {
    serve_upgrade_impl(state, std::move(stream), std::move(request), std::move(already_read));
}

}  // namespace detail
}  // namespace switchboard::beast

#include <switchboard/websocketpp.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <fmt/format.h>

#include "../detail/log.hpp"
#include "../detail/websocket_key.hpp"

namespace switchboard::websocketpp {

using ::websocketpp::connection_hdl;
using ConnectionPtr = Server::connection_ptr;
using TimerPtr = Server::connection_type::timer_ptr;
using ErrorCode = ::websocketpp::lib::error_code;

namespace {

/** The hub's view of one websocketpp connection: a weak handle, nothing more. */
class HubConnection final : public Connection, public std::enable_shared_from_this<HubConnection> {
public:
    HubConnection(std::weak_ptr<Adapter::State> state, connection_hdl hdl)
        : state_(std::move(state)), hdl_(std::move(hdl)) {}

    void send(std::shared_ptr<const std::string> text) override;
    bool offer(std::shared_ptr<const std::string> text) override;
    void close(int code, std::string_view reason) override;

    /**
     * The client pinged: may websocketpp answer? Every pong waits in
     * websocketpp's queue, which an adapter cannot see when pongs are
     * empty; so pongs owed while the connection is backed up (bytes
     * waiting in websocketpp's buffer or unsent in the socket) are counted,
     * and a client owed more than `max_backed_up_pongs` of them is closed
     * as a slow consumer.
     */
    bool answer_ping();

    /** Like close, but counted as a transport close with `counter`; the first close wins. */
    void close_for(std::string_view counter, int code, std::string_view reason);

    /** Set by anything that arrives from the client; cleared by each keep-alive tick. */
    std::atomic<bool> heard{true};
    /** Set when keep-alive gave up on the client: its departure counts as lost (it may resume). */
    std::atomic<bool> unresponsive{false};

private:
    ConnectionPtr resolve(std::shared_ptr<Adapter::State>& state) const;
    void shut(int code, std::string_view reason);

    /** True on the connection's strand, where websocketpp's handlers for it run. */
    static bool on_strand(const ConnectionPtr& con);
    /**
     * On the strand: the bytes websocketpp holds for this connection, kept
     * as the estimate other threads use. websocketpp counts them without a
     * lock, so only the strand reads that count or sends (a send from
     * another thread is queued to the strand, `pending_` until it runs).
     */
    std::size_t sample(const ConnectionPtr& con);
    static void later(const ConnectionPtr& con, std::function<void()> task);

    std::weak_ptr<Adapter::State> state_;
    connection_hdl hdl_;
    std::atomic<bool> closing_{false};
    std::size_t backed_up_pongs_ = 0;      // on the connection's strand only (the ping handler)
    std::atomic<std::size_t> sampled_{0};  // websocketpp's count, as last read on the strand
    std::atomic<std::size_t> pending_{0};  // bytes sent from other threads, not yet on the strand
};

/** Pongs owed to a client that does not drain (see HubConnection::answer_ping). */
constexpr std::size_t max_backed_up_pongs = 64;

}  // namespace

class Adapter::State : public std::enable_shared_from_this<State> {
public:
    State(Hub& hub, Server& server, TransportOptions options)
        : hub(hub), server(server), options(options), read_message_max(options.read_limit(hub.options())) {}

    Hub& hub;
    Server& server;
    const TransportOptions options;
    const std::size_t read_message_max;

    void install();
    void close_all(int code);
    std::size_t open_count() const;

    template <class... Args>
    void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) const {
        detail::log(hub.options(), level, format, std::forward<Args>(args)...);
    }

private:
    /** One WebSocket from a successful validate until its close or fail handler. */
    struct Entry {
        std::optional<Admission> admission;  ///< until the open handler uses it
        std::shared_ptr<HubConnection> link;
        std::shared_ptr<Session> session;
        TimerPtr keepalive;
    };

    bool validate(connection_hdl hdl);
    void open(connection_hdl hdl);
    void message(connection_hdl hdl, const Server::message_ptr& message);
    void gone(connection_hdl hdl);
    /** Ping a silent client (on a `tick`) and schedule the next tick. */
    void keepalive(connection_hdl hdl, bool tick);
    std::shared_ptr<HubConnection> link_of(const connection_hdl& hdl) const;

    mutable std::mutex mutex_;
    bool stopping_ = false;
    std::map<connection_hdl, Entry, std::owner_less<connection_hdl>> entries_;
};

ConnectionPtr HubConnection::resolve(std::shared_ptr<Adapter::State>& state) const {
    state = state_.lock();
    if (!state) return nullptr;
    ErrorCode ec;
    auto con = state->server.get_con_from_hdl(hdl_, ec);
    return ec ? nullptr : con;
}

bool HubConnection::on_strand(const ConnectionPtr& con) {
    auto strand = con->get_strand();
    return !strand || strand->running_in_this_thread();
}

std::size_t HubConnection::sample(const ConnectionPtr& con) {
    auto now = con->get_buffered_amount();
    sampled_.store(now, std::memory_order_relaxed);
    return now;
}

void HubConnection::later(const ConnectionPtr& con, std::function<void()> task) {
    ::boost::asio::post(*con->get_strand(), std::move(task));
}

void HubConnection::send(std::shared_ptr<const std::string> text) {
    if (closing_.load()) return;
    std::shared_ptr<Adapter::State> state;
    auto con = resolve(state);
    if (!con) return;
    const auto max = state->options.queue_max_bytes;
    auto send_here = [this, con, max](const std::shared_ptr<const std::string>& t) {
        if (closing_.load()) return;
        auto buffered = sample(con);
        if (buffered > 0 && buffered + t->size() > max)
            return close_for(transport_close::slow_consumer, close_code::policy_violation, "too slow");
        (void)con->send(*t, ::websocketpp::frame::opcode::text);  // fails only once closing: ignore
        sample(con);
    };
    if (on_strand(con)) return send_here(text);
    // Another thread: websocketpp's queue is the strand's to touch (see sample()).
    auto estimate = sampled_.load(std::memory_order_relaxed) + pending_.load(std::memory_order_relaxed);
    if (estimate > 0 && estimate + text->size() > max) {
        close_for(transport_close::slow_consumer, close_code::policy_violation, "too slow");
        return;
    }
    pending_.fetch_add(text->size(), std::memory_order_relaxed);
    later(con, [self = shared_from_this(), send_here, text] {
        self->pending_.fetch_sub(text->size(), std::memory_order_relaxed);
        send_here(text);
    });
}

bool HubConnection::offer(std::shared_ptr<const std::string> text) {
    if (closing_.load()) return true;
    std::shared_ptr<Adapter::State> state;
    auto con = resolve(state);
    if (!con) return true;
    // Messages from other users may take half the bound; the rest is for the server's own.
    const auto half = state->options.queue_max_bytes / 2;
    if (on_strand(con)) {
        auto buffered = sample(con);
        if (buffered > 0 && buffered + text->size() > half) return false;
        (void)con->send(*text, ::websocketpp::frame::opcode::text);
        sample(con);
        return true;
    }
    auto estimate = sampled_.load(std::memory_order_relaxed) + pending_.load(std::memory_order_relaxed);
    if (estimate > 0 && estimate + text->size() > half) {
        later(con, [self = shared_from_this(), con] { self->sample(con); });  // so that a drained queue is seen
        return false;
    }
    pending_.fetch_add(text->size(), std::memory_order_relaxed);
    later(con, [self = shared_from_this(), con, text] {
        self->pending_.fetch_sub(text->size(), std::memory_order_relaxed);
        if (self->closing_.load()) return;
        (void)con->send(*text, ::websocketpp::frame::opcode::text);
        self->sample(con);
    });
    return true;
}

bool HubConnection::answer_ping() {
    std::shared_ptr<Adapter::State> state;
    auto con = resolve(state);
    if (!con || closing_.load()) return false;
    bool backed_up = sample(con) > 0;  // the ping handler runs on the strand
    if (!backed_up) {
        int unsent = 0;  // bytes the socket has not sent yet: the client's window is full
        backed_up = ::ioctl(con->get_raw_socket().native_handle(), SIOCOUTQNSD, &unsent) == 0 && unsent > 0;
    }
    if (!backed_up) {
        backed_up_pongs_ = 0;
        return true;
    }
    if (++backed_up_pongs_ <= max_backed_up_pongs) return true;
    close_for(transport_close::slow_consumer, close_code::policy_violation, "too slow");
    return false;
}

void HubConnection::close(int code, std::string_view reason) {
    if (!closing_.exchange(true)) shut(code, reason);
}

void HubConnection::close_for(std::string_view counter, int code, std::string_view reason) {
    if (closing_.exchange(true)) return;
    if (auto state = state_.lock()) {
        state->hub.count_transport_close(counter);
        state->log(LogLevel::info, "closing a connection ({}): {}", counter, reason);
    }
    shut(code, reason);
}

void HubConnection::shut(int code, std::string_view reason) {
    std::shared_ptr<Adapter::State> state;
    auto con = resolve(state);
    if (!con) return;
    // Unlike send(), websocketpp's close() races with the connection's own
    // handlers (its timers) when called from another thread: run it on the
    // connection's strand.
    auto close = [con, code, reason = std::string(reason)] {
        ErrorCode ec;
        con->close(static_cast<::websocketpp::close::status::value>(code), reason, ec);
    };
    if (auto strand = con->get_strand())
        ::boost::asio::post(*strand, std::move(close));
    else
        close();
}

void Adapter::State::install() {
    // The handlers hold the state weakly: the server may outlive the adapter.
    auto weak = weak_from_this();
    server.set_open_handshake_timeout(options.handshake_timeout.count());
    server.set_close_handshake_timeout(options.close_timeout.count());
    server.set_validate_handler([weak](connection_hdl hdl) {
        auto self = weak.lock();
        return self && self->validate(std::move(hdl));
    });
    server.set_open_handler([weak](connection_hdl hdl) {
        if (auto self = weak.lock()) self->open(std::move(hdl));
    });
    server.set_message_handler([weak](connection_hdl hdl, Server::message_ptr message) {
        if (auto self = weak.lock()) self->message(std::move(hdl), message);
    });
    server.set_close_handler([weak](connection_hdl hdl) {
        if (auto self = weak.lock()) self->gone(std::move(hdl));
    });
    server.set_fail_handler([weak](connection_hdl hdl) {
        if (auto self = weak.lock()) self->gone(std::move(hdl));
    });
    server.set_ping_handler([weak](connection_hdl hdl, const std::string&) {
        auto self = weak.lock();
        auto link = self ? self->link_of(hdl) : nullptr;
        if (!link) return true;
        link->heard = true;
        return link->answer_ping();
    });
    server.set_pong_handler([weak](connection_hdl hdl, const std::string&) {
        if (auto self = weak.lock())
            if (auto link = self->link_of(hdl)) link->heard = true;
    });
    server.set_pong_timeout_handler([weak](connection_hdl hdl, const std::string&) {
        if (auto self = weak.lock())
            if (auto link = self->link_of(hdl)) {
                link->unresponsive = true;
                link->close_for(transport_close::keepalive_timeout, close_code::policy_violation, "keep-alive timeout");
            }
    });
}

bool Adapter::State::validate(connection_hdl hdl) {
    auto con = server.get_con_from_hdl(hdl);
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            con->set_status(::websocketpp::http::status_code::service_unavailable);
            con->set_body("server shutting down");
            return false;
        }
    }
    // websocketpp's own checks do not cover these (RFC 9112 3.2, RFC 6455 4.2.1).
    const char* bad_request = nullptr;
    if (con->get_request_header("Host").empty())
        bad_request = "an HTTP/1.1 request needs a Host header";
    else if (!detail::valid_websocket_key(con->get_request_header("Sec-WebSocket-Key")))
        bad_request = "Sec-WebSocket-Key must be 16 bytes in base64";
    if (bad_request) {
        con->set_status(::websocketpp::http::status_code::bad_request);
        con->set_body(bad_request);
        return false;
    }
    Handshake handshake;
    auto target = split_target(con->get_resource());
    handshake.path = target.path;
    handshake.query = target.query;
    for (const auto& [name, value] : con->get_request().get_headers())
        handshake.headers.emplace_back(name, value);
    boost::system::error_code error;
    auto endpoint = con->get_raw_socket().remote_endpoint(error);
    if (!error) handshake.remote_address = endpoint.address().to_string();

    auto admission = hub.admit(std::move(handshake));
    if (!admission) {
        con->set_status(static_cast<::websocketpp::http::status_code::value>(admission.status()));
        con->set_body(admission.reason());
        return false;
    }
    con->set_max_message_size(read_message_max);
    con->set_pong_timeout(options.idle_timeout.count() / 2);
    std::lock_guard lock(mutex_);
    entries_[hdl].admission = std::move(admission);
    return true;
}

void Adapter::State::open(connection_hdl hdl) {
    auto link = std::make_shared<HubConnection>(weak_from_this(), hdl);
    std::optional<Admission> admission;
    bool stopping;
    {
        std::lock_guard lock(mutex_);
        stopping = stopping_;
        auto it = entries_.find(hdl);
        if (it == entries_.end() || !it->second.admission) return;
        admission.swap(it->second.admission);
        it->second.link = link;
    }
    if (stopping) {
        link->close(close_code::going_away, "server shutting down");
        return;
    }
    // The hub sends `login` from inside open(); websocketpp reads nothing
    // until this handler returns, so no message can overtake the session.
    auto session = hub.open(std::move(*admission), link);
    {
        std::lock_guard lock(mutex_);
        if (auto it = entries_.find(hdl); it != entries_.end()) it->second.session = std::move(session);
    }
    keepalive(hdl, false);
}

void Adapter::State::keepalive(connection_hdl hdl, bool tick) {
    auto link = link_of(hdl);
    ErrorCode ec;
    auto con = server.get_con_from_hdl(hdl, ec);
    if (!link || ec || con->get_state() != ::websocketpp::session::state::open) return;
    if (options.idle_timeout.count() < 2) return;
    if (tick && !link->heard.exchange(false)) con->ping("", ec);
    // Timer callbacks run on the connection's strand, like its other handlers.
    auto timer =
        con->set_timer(options.idle_timeout.count() / 2, [weak = weak_from_this(), hdl](const ErrorCode& error) {
            if (auto self = weak.lock(); self && !error) self->keepalive(hdl, true);
        });
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(hdl); it != entries_.end()) it->second.keepalive = std::move(timer);
}

void Adapter::State::message(connection_hdl hdl, const Server::message_ptr& message) {
    std::shared_ptr<HubConnection> link;
    std::shared_ptr<Session> session;
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(hdl);
        if (it == entries_.end()) return;
        link = it->second.link;
        session = it->second.session;
    }
    if (!link) return;
    link->heard = true;
    if (message->get_opcode() != ::websocketpp::frame::opcode::text) {
        link->close_for(transport_close::binary_frame, close_code::unsupported_data, "binary frames are not supported");
        return;
    }
    if (session) hub.receive(*session, message->get_payload());
}

void Adapter::State::gone(connection_hdl hdl) {
    Entry entry;
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(hdl);
        if (it == entries_.end()) return;
        entry = std::move(it->second);
        entries_.erase(it);
    }
    if (entry.keepalive) entry.keepalive->cancel();
    ErrorCode ec;
    auto con = server.get_con_from_hdl(hdl, ec);
    if (!ec && con->get_local_close_code() == ::websocketpp::close::status::message_too_big) {
        hub.count_transport_close(transport_close::message_too_big);
        log(LogLevel::info, "closed a connection: message over {} bytes", read_message_max);
    }
    // No close frame either way (websocketpp says 1006 for both): the
    // connection broke, and the user may resume.
    using ::websocketpp::close::status::abnormal_close;
    const bool lost =
        ec || (con->get_remote_close_code() == abnormal_close &&
               (con->get_local_close_code() == abnormal_close || (entry.link && entry.link->unresponsive)));
    if (entry.session) hub.leave(*entry.session, lost ? Departure::lost : Departure::closed);
}

std::shared_ptr<HubConnection> Adapter::State::link_of(const connection_hdl& hdl) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(hdl);
    return it == entries_.end() ? nullptr : it->second.link;
}

void Adapter::State::close_all(int code) {
    std::vector<std::shared_ptr<HubConnection>> links;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (auto& [hdl, entry] : entries_)
            if (entry.link) links.push_back(entry.link);
    }
    // The acceptor is not thread-safe: stop it on the server's own threads.
    ::boost::asio::post(server.get_io_service(), [weak = weak_from_this()] {
        ErrorCode ec;
        if (auto self = weak.lock(); self && self->server.is_listening()) self->server.stop_listening(ec);
    });
    for (auto& link : links)
        link->close(code, "server shutting down");
}

std::size_t Adapter::State::open_count() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (auto& [hdl, entry] : entries_)
        n += entry.link ? 1 : 0;
    return n;
}

Adapter::Adapter(Hub& hub, Server& server, TransportOptions options)
    : state_(std::make_shared<State>(hub, server, options)) {
    state_->install();
}

Adapter::~Adapter() = default;

void Adapter::close_all(int code) {
    state_->close_all(code);
}

std::size_t Adapter::connection_count() const {
    return state_->open_count();
}

const TransportOptions& Adapter::options() const noexcept {
    return state_->options;
}

}  // namespace switchboard::websocketpp

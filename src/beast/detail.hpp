// Internal to switchboard_beast: what the two translation units share.
//
// websocket_session.cpp owns everything after an upgrade request was read
// (admission, the WebSocket and its queue); server.cpp owns accepting, TLS
// and HTTP. Splitting them keeps each Beast-heavy TU small enough to build
// in parallel.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <fmt/format.h>

#include <switchboard/beast.hpp>

namespace switchboard::beast {

namespace detail {

using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

/** Anything the adapter must be able to close at shutdown: WebSocket and HTTP connections. */
class Link {
public:
    virtual ~Link() = default;
    /** Thread-safe. Close with `code` (WebSocket) or just hang up (HTTP). */
    virtual void close(int code, std::string_view reason) = 0;
};

}  // namespace detail

class Adapter::State {
public:
    State(Hub& hub, TransportOptions options);

    Hub& hub;
    const TransportOptions options;
    const std::size_t read_message_max;  ///< options.read_message_max or the hub's limit

    /** Registers a live link; false (do not serve it) once close_all has begun. */
    bool add(const std::shared_ptr<detail::Link>& link);
    /** Called by a link when it is gone (from its destructor). */
    void remove(const detail::Link* link);
    void close_all(int code);
    bool stopping() const;

    /** Runs once, on the thread that removes the last link, after close_all. */
    void on_drained(std::function<void()> callback);

    std::atomic<std::size_t> websockets{0};

    template <class... Args>
    void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
        const auto& o = hub.options();
        if (!o.log_sink || level < o.log_level || o.log_level == LogLevel::off) return;
        o.log_sink(level, fmt::format(format, std::forward<Args>(args)...));
    }

private:
    void maybe_drained(std::unique_lock<std::mutex>& lock);

    mutable std::mutex mutex_;
    bool stopping_ = false;
    std::unordered_map<const detail::Link*, std::weak_ptr<detail::Link>> links_;
    std::function<void()> on_drained_;
};

namespace detail {

/**
 * Serve one WebSocket upgrade whose request was read from `stream`: admit,
 * answer a refusal over HTTP, or accept and run the session. Runs on the
 * stream's executor, which must be a strand (or single-threaded).
 */
void serve_upgrade(const std::shared_ptr<Adapter::State>& state, PlainStream stream, HttpRequest request);
void serve_upgrade(const std::shared_ptr<Adapter::State>& state, TlsStream stream, HttpRequest request);

/** What the hub sees of an upgrade request. */
Handshake make_handshake(const HttpRequest& request, const boost::asio::ip::tcp::socket& socket);

}  // namespace detail
}  // namespace switchboard::beast

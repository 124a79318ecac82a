// Internal to switchboard_beast: what an Adapter shares with its
// connections (the hub, the options, the registry of live connections and
// the HTTP-phase counts), and the entry points from one phase of a
// connection to the next:
//
//   accepted socket --start_http--> HttpSession (http_session.cpp)
//     --serve_upgrade--> admission (upgrade.cpp), then WebSocketSession (websocket_session.hpp)
//
// Adapter::serve (adapter.cpp) enters at either point.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <switchboard/beast.hpp>

#include "../detail/log.hpp"
#include "streams.hpp"

namespace switchboard::beast {

namespace detail {

/** A connection the adapter must be able to end at shutdown: a WebSocket or an HTTP session. */
class Closable {
public:
    virtual ~Closable() = default;
    /** Thread-safe. Close with `code` (WebSocket) or just hang up (HTTP). */
    virtual void close(int code, std::string_view reason) = 0;
};

}  // namespace detail

class Adapter::State {
public:
    State(Hub& hub, TransportOptions options);

    Hub& hub;
    const TransportOptions options;
    const std::size_t read_message_max;  ///< options.read_limit(hub.options())

    /** Registers a live connection; false (do not serve it) once close_all has begun. */
    bool add(const std::shared_ptr<detail::Closable>& connection);
    /** Called by a connection when it is gone (from its destructor). */
    void remove(const detail::Closable* connection);
    void close_all(int code);
    bool stopping() const;

    /**
     * Counts one more connection in its HTTP phase from `address`; false
     * (do not serve it) when that is over TransportOptions::max_http_connections
     * or max_handshakes_per_address. Every true is matched by end_http.
     */
    bool begin_http(const std::string& address);
    void end_http(const std::string& address);

    /** Runs once, on the thread that removes the last connection, after close_all. */
    void on_drained(std::function<void()> callback);

    /** WebSockets past their 101 and not yet destroyed (Adapter::connection_count). */
    std::atomic<std::size_t> websockets{0};

    template <class... Args>
    void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) const {
        switchboard::detail::log(hub.options(), level, format, std::forward<Args>(args)...);
    }

private:
    void maybe_drained(std::unique_lock<std::mutex>& lock);

    mutable std::mutex mutex_;
    bool stopping_ = false;
    std::unordered_map<const detail::Closable*, std::weak_ptr<detail::Closable>> connections_;
    std::size_t http_connections_ = 0;
    std::unordered_map<std::string, std::size_t> handshakes_;  // by peer address
    std::function<void()> on_drained_;
};

namespace detail {

/** Holds one count of Adapter::connection_count while it lives, once counted. */
class ConnectionCount {
public:
    ConnectionCount() = default;
    ConnectionCount(const ConnectionCount&) = delete;
    ConnectionCount& operator=(const ConnectionCount&) = delete;
    ~ConnectionCount() {
        if (counter_) --*counter_;
    }
    void count(std::atomic<std::size_t>& counter) {
        counter_ = &counter;
        ++counter;
    }

private:
    std::atomic<std::size_t>* counter_ = nullptr;
};

/**
 * Reads HTTP requests on a freshly accepted stream (the TLS handshake
 * first) and answers them with `handler` (null: every plain request gets
 * 426), until one is a WebSocket upgrade: then serve_upgrade. Runs on the
 * stream's strand.
 */
void start_http(const std::shared_ptr<Adapter::State>& state, const HttpHandler* handler, PlainStream stream);
void start_http(const std::shared_ptr<Adapter::State>& state, const HttpHandler* handler, TlsStream stream);
void start_http(const std::shared_ptr<Adapter::State>& state, const HttpHandler* handler, GenericStream stream);

/**
 * Serve one WebSocket upgrade whose request was read from `stream`: admit,
 * answer a refusal over HTTP, or accept and run the session.
 * `already_read`: bytes read past the request (frames of a client that did
 * not wait for the 101). Runs on the stream's strand.
 */
void serve_upgrade(const std::shared_ptr<Adapter::State>& state, PlainStream stream, HttpRequest request,
                   std::string already_read);
void serve_upgrade(const std::shared_ptr<Adapter::State>& state, TlsStream stream, HttpRequest request,
                   std::string already_read);
void serve_upgrade(const std::shared_ptr<Adapter::State>& state, GenericStream stream, HttpRequest request,
                   std::string already_read);

}  // namespace detail
}  // namespace switchboard::beast

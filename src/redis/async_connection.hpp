// One hiredis async context driven by an Asio io_context (hiredis 0.14 has
// no Asio adapter, no timeouts and no reconnect; this class adds the first
// two, the cluster does the third). Not thread-safe: create and use it on
// the thread that runs the io_context. Private to switchboard::redis.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "redis_url.hpp"
#include "reply.hpp"

struct redisAsyncContext;

namespace switchboard::redis::detail {

class AsyncConnection : public std::enable_shared_from_this<AsyncConnection> {
public:
    /** A command's answer; nullopt when the connection ended before it came. */
    using ReplyHandler = std::function<void(std::optional<Reply>)>;
    /** Every message of a subscribed channel (the ["message", channel, payload] array, and (un)subscribe replies). */
    using PushHandler = std::function<void(const Reply&)>;
    /** The connection is gone (an error, Redis closed it, a reply overdue). Called once; not after close(). */
    using DownHandler = std::function<void(const std::string& why)>;

    AsyncConnection(boost::asio::io_context& io, std::chrono::milliseconds timeout);
    ~AsyncConnection();
    AsyncConnection(const AsyncConnection&) = delete;
    AsyncConnection& operator=(const AsyncConnection&) = delete;

    /**
     * Connect, then AUTH and SELECT as the URL asks. `ready` gets "" once
     * Redis answered them, or why not (within the timeout).
     */
    void connect(const RedisUrl& url, std::function<void(const std::string& error)> ready, DownHandler down);

    /** Send a command; `done` gets its reply. A reply overdue by the timeout takes the connection down. */
    void command(const std::vector<std::string>& argv, ReplyHandler done);

    /** SUBSCRIBE / UNSUBSCRIBE a channel; its messages go to the push handler. */
    void subscribe(const std::string& channel);
    void unsubscribe(const std::string& channel);
    void on_push(PushHandler handler) { push_ = std::move(handler); }

    /** Drop the connection now. Pending commands get nullopt; the down handler is not called. */
    void close();

    bool connected() const noexcept { return context_ != nullptr && ready_; }

private:
    static void add_read(void* self);
    static void del_read(void* self);
    static void add_write(void* self);
    static void del_write(void* self);
    static void cleanup(void* self);
    static void on_connected(const redisAsyncContext* context, int status);
    static void on_disconnected(const redisAsyncContext* context, int status);
    static void on_reply(redisAsyncContext* context, void* reply, void* handler);
    static void on_message(redisAsyncContext* context, void* reply, void* self);

    /** hiredis wants (or no longer wants) to know when the socket is readable (`read`) or writable. */
    void want(bool read, bool wanted);
    void go_down(const std::string& why);
    void arm_watchdog();
    bool send(const std::vector<std::string>& argv, void (*callback)(redisAsyncContext*, void*, void*), void* data);

    boost::asio::io_context& io_;
    const std::chrono::milliseconds timeout_;
    boost::asio::posix::stream_descriptor socket_;
    boost::asio::steady_timer watchdog_;
    redisAsyncContext* context_ = nullptr;
    bool ready_ = false;
    bool up_ = false;  // was ready once: only then is the down handler called
    struct Direction {
        bool wanted = false;   ///< hiredis asked for this event
        bool waiting = false;  ///< an async_wait for it is pending
    };
    Direction read_, write_;
    bool watchdog_armed_ = false;
    /** When each command still unanswered was sent, oldest first (Redis answers in order). */
    std::deque<std::chrono::steady_clock::time_point> outstanding_;
    PushHandler push_;
    DownHandler down_;
};

}  // namespace switchboard::redis::detail

#include "async_connection.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <charconv>

#include <boost/asio/post.hpp>

namespace switchboard::redis::detail {

namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

// ---- Reply ----

Reply Reply::from(const redisReply& r) {
    Reply out;
    switch (r.type) {
        case REDIS_REPLY_INTEGER:
            out.kind = Kind::integer;
            out.integer = r.integer;
            break;
        case REDIS_REPLY_STRING:
            out.kind = Kind::string;
            out.text.assign(r.str, r.len);
            break;
        case REDIS_REPLY_STATUS:
            out.kind = Kind::status;
            out.text.assign(r.str, r.len);
            break;
        case REDIS_REPLY_ERROR:
            out.kind = Kind::error;
            out.text.assign(r.str, r.len);
            break;
        case REDIS_REPLY_ARRAY:
            out.kind = Kind::array;
            out.elements.reserve(r.elements);
            for (std::size_t i = 0; i < r.elements; ++i)
                out.elements.push_back(from(*r.element[i]));
            break;
        default:
            break;
    }
    return out;
}

long long Reply::as_integer(long long fallback) const {
    if (kind == Kind::integer) return integer;
    if (kind != Kind::string && kind != Kind::status) return fallback;
    long long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && end == text.data() + text.size() ? value : fallback;
}

// ---- AsyncConnection ----

AsyncConnection::AsyncConnection(net::io_context& io, std::chrono::milliseconds timeout)
    : io_(io), timeout_(timeout), socket_(io), watchdog_(io) {}

AsyncConnection::~AsyncConnection() {
    close();
}

void AsyncConnection::connect(const RedisUrl& url, std::function<void(const std::string&)> ready, DownHandler down) {
    down_ = std::move(down);
    context_ = redisAsyncConnect(url.host.c_str(), url.port);
    if (context_ == nullptr || context_->err) {
        std::string why = context_ ? context_->errstr : "out of memory";
        if (context_) redisAsyncFree(context_);
        context_ = nullptr;
        net::post(io_, [ready = std::move(ready), why] { ready("cannot connect to Redis: " + why); });
        return;
    }
    context_->data = this;
    // The event hooks before the connect callback: setting that callback
    // asks for the first writable event, which tells that TCP connected.
    context_->ev.data = this;
    context_->ev.addRead = &AsyncConnection::add_read;
    context_->ev.delRead = &AsyncConnection::del_read;
    context_->ev.addWrite = &AsyncConnection::add_write;
    context_->ev.delWrite = &AsyncConnection::del_write;
    context_->ev.cleanup = &AsyncConnection::cleanup;
    socket_.assign(context_->c.fd);
    redisAsyncSetConnectCallback(context_, &AsyncConnection::on_connected);
    redisAsyncSetDisconnectCallback(context_, &AsyncConnection::on_disconnected);

    // AUTH and SELECT go out behind the connect (hiredis queues them); the
    // last of them (or a PING) says the connection is usable.
    auto answered = std::make_shared<std::function<void(const std::string&)>>(std::move(ready));
    auto check = [answered](const char* what) {
        return [answered, what](std::optional<Reply> reply) {
            if (!*answered) return;
            std::string why;
            if (!reply)
                why = "the connection to Redis ended before it answered";
            else if (reply->error())
                why = std::string(what) + ": " + reply->text;
            if (!why.empty()) {
                auto f = std::move(*answered);
                *answered = nullptr;
                f(why);
            }
        };
    };
    if (!url.password.empty()) {
        std::vector<std::string> auth = {"AUTH"};
        if (!url.user.empty()) auth.push_back(url.user);
        auth.push_back(url.password);
        command(auth, check("AUTH"));
    }
    if (url.db != 0) command({"SELECT", std::to_string(url.db)}, check("SELECT"));
    command({"PING"}, [this, answered, check = check("PING")](std::optional<Reply> reply) {
        bool ok = reply && !reply->error();
        check(std::move(reply));
        if (!*answered) return;
        auto f = std::move(*answered);
        *answered = nullptr;
        ready_ = up_ = ok;
        f(ok ? std::string() : std::string("Redis did not answer PING"));
    });
}

bool AsyncConnection::send(const std::vector<std::string>& argv, void (*callback)(redisAsyncContext*, void*, void*),
                           void* data) {
    std::vector<const char*> args;
    std::vector<std::size_t> lengths;
    args.reserve(argv.size());
    lengths.reserve(argv.size());
    for (auto& a : argv) {
        args.push_back(a.data());
        lengths.push_back(a.size());
    }
    // REDIS_ERR while hiredis is tearing the context down.
    return redisAsyncCommandArgv(context_, callback, data, static_cast<int>(args.size()), args.data(),
                                 lengths.data()) == REDIS_OK;
}

void AsyncConnection::command(const std::vector<std::string>& argv, ReplyHandler done) {
    if (context_) {
        auto* handler = new ReplyHandler(std::move(done));
        if (send(argv, &AsyncConnection::on_reply, handler)) {
            outstanding_.push_back(Clock::now());
            arm_watchdog();
            return;
        }
        done = std::move(*handler);
        delete handler;
    }
    net::post(io_, [done = std::move(done)] { done(std::nullopt); });
}

void AsyncConnection::subscribe(const std::string& channel) {
    if (context_) send({"SUBSCRIBE", channel}, &AsyncConnection::on_message, nullptr);
}

void AsyncConnection::unsubscribe(const std::string& channel) {
    if (context_) send({"UNSUBSCRIBE", channel}, &AsyncConnection::on_message, nullptr);
}

void AsyncConnection::close() {
    down_ = nullptr;
    if (!context_) return;
    auto* context = context_;
    context_ = nullptr;
    ready_ = false;
    read_.wanted = write_.wanted = false;
    outstanding_.clear();
    watchdog_.cancel();
    // hiredis may free the context later (when called from one of its
    // callbacks) and then call back: by then it must not find us.
    context->data = nullptr;
    context->ev.data = nullptr;
    if (socket_.is_open()) socket_.release();  // hiredis closes the descriptor itself
    redisAsyncFree(context);
}

void AsyncConnection::go_down(const std::string& why) {
    // Only a connection that was up goes down; one that never was answered connect()'s `ready`.
    DownHandler down = up_ ? std::move(down_) : nullptr;
    down_ = nullptr;
    close();
    if (down) down(why);
}

void AsyncConnection::arm_watchdog() {
    if (watchdog_armed_ || outstanding_.empty()) return;
    watchdog_armed_ = true;
    watchdog_.expires_at(outstanding_.front() + timeout_);
    watchdog_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        auto self = weak.lock();
        if (!self || ec) return;
        self->watchdog_armed_ = false;
        if (!self->outstanding_.empty() && Clock::now() >= self->outstanding_.front() + self->timeout_)
            return self->go_down("Redis did not answer within " + std::to_string(self->timeout_.count()) + " ms");
        self->arm_watchdog();
    });
}

// ---- hiredis callbacks ----

void AsyncConnection::on_reply(redisAsyncContext* context, void* reply, void* data) {
    auto* self = static_cast<AsyncConnection*>(context->data);
    std::unique_ptr<ReplyHandler> handler(static_cast<ReplyHandler*>(data));
    if (self && !self->outstanding_.empty()) self->outstanding_.pop_front();
    std::optional<Reply> copy;
    if (reply) copy = Reply::from(*static_cast<redisReply*>(reply));
    if (*handler) (*handler)(std::move(copy));
}

void AsyncConnection::on_message(redisAsyncContext* context, void* reply, void*) {
    auto* self = static_cast<AsyncConnection*>(context->data);
    if (!reply || !self || !self->push_) return;
    self->push_(Reply::from(*static_cast<redisReply*>(reply)));
}

void AsyncConnection::on_connected(const redisAsyncContext* context, int status) {
    auto* self = static_cast<AsyncConnection*>(context->data);
    if (!self || status == REDIS_OK) return;
    // hiredis frees the context after this returns.
    self->context_ = nullptr;
    auto why = std::string("cannot connect to Redis: ") + (context->errstr ? context->errstr : "unknown error");
    net::post(self->io_, [weak = self->weak_from_this(), why] {
        if (auto s = weak.lock()) s->go_down(why);
    });
}

void AsyncConnection::on_disconnected(const redisAsyncContext* context, int status) {
    auto* self = static_cast<AsyncConnection*>(context->data);
    if (!self || self->context_ == nullptr) return;  // our own close()
    self->context_ = nullptr;
    self->ready_ = false;
    std::string why = status == REDIS_OK ? "Redis closed the connection"
                                         : std::string("the connection to Redis failed: ") +
                                               (context->errstr ? context->errstr : "unknown error");
    net::post(self->io_, [weak = self->weak_from_this(), why] {
        if (auto s = weak.lock()) s->go_down(why);
    });
}

void AsyncConnection::add_read(void* data) {
    if (data) static_cast<AsyncConnection*>(data)->want(true, true);
}

void AsyncConnection::del_read(void* data) {
    if (data) static_cast<AsyncConnection*>(data)->want(true, false);
}

void AsyncConnection::add_write(void* data) {
    if (data) static_cast<AsyncConnection*>(data)->want(false, true);
}

void AsyncConnection::del_write(void* data) {
    if (data) static_cast<AsyncConnection*>(data)->want(false, false);
}

void AsyncConnection::cleanup(void* data) {
    auto* self = static_cast<AsyncConnection*>(data);
    if (!self) return;
    self->read_.wanted = self->write_.wanted = false;
    // hiredis closes the descriptor itself: give it back to it, cancelling our waits.
    if (self->socket_.is_open()) self->socket_.release();
}

void AsyncConnection::want(bool read, bool wanted) {
    auto& direction = read ? read_ : write_;
    direction.wanted = wanted;
    if (!wanted || direction.waiting || !socket_.is_open()) return;
    direction.waiting = true;
    socket_.async_wait(read ? net::posix::stream_descriptor::wait_read : net::posix::stream_descriptor::wait_write,
                       [weak = weak_from_this(), read](boost::system::error_code ec) {
                           auto self = weak.lock();
                           if (!self) return;
                           auto& d = read ? self->read_ : self->write_;
                           d.waiting = false;
                           if (ec || !self->context_ || !d.wanted) return;
                           if (read)
                               redisAsyncHandleRead(self->context_);
                           else
                               redisAsyncHandleWrite(self->context_);
                           // hiredis may have ended the context, or stopped wanting this direction.
                           if (self->context_) self->want(read, d.wanted);
                       });
}

}  // namespace switchboard::redis::detail

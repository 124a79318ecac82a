// The kit's WebSocket client on POSIX sockets: one thread per Loop polls
// every client's socket, so the kit needs nothing beyond the C++ library
// and the system (no Boost, whichever adapter it checks).
#include "client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>

#include "client_frames.hpp"
#include "raw_client.hpp"

namespace switchboard::testing::detail {

namespace {

using Clock = std::chrono::steady_clock;

/** How long the client waits for the server to end TCP after the close frames crossed. */
constexpr std::chrono::milliseconds teardown_wait{2'000};

std::string random_key() {
    std::random_device random;
    std::string nonce(16, '\0');
    for (auto& c : nonce)
        c = static_cast<char>(random());
    return base64(nonce);
}

}  // namespace

struct Client::Impl {
    Impl(std::uint16_t port, ConnectOptions options) : port(port), options(std::move(options)) {}

    const std::uint16_t port;
    const ConnectOptions options;

    // ---- The loop thread only ----
    enum class Stage { start, connecting, upgrading, open, closing, done };
    Stage stage = Stage::start;
    int fd = -1;
    std::string key;
    std::string in;                      // bytes read and not yet parsed
    std::string request;                 // the upgrade request, while it is being written
    std::string out;                     // frames to write once upgraded
    std::deque<std::size_t> boundaries;  // where each queued message ends in `out` (for unsent)
    std::string message;                 // a fragmented message being assembled
    int message_opcode = 0;
    bool reading = true;  // false once a keep_reading=false client has its first message
    bool close_sent = false;
    Clock::time_point deadline = Clock::time_point::max();

    // ---- Shared with the callers' threads, under mutex ----
    mutable std::mutex mutex;
    std::condition_variable changed;
    std::optional<Upgrade> upgrade;
    std::deque<Event> events;
    std::size_t unsent = 0;
    std::deque<std::string> posted;  // frames queued by send_text/send_binary
    bool close_wanted = false;
    bool abort_wanted = false;

    void publish_upgrade(Upgrade u) {
        {
            std::lock_guard lock(mutex);
            upgrade = std::move(u);
        }
        changed.notify_all();
    }

    void push(Event e) {
        {
            std::lock_guard lock(mutex);
            events.push_back(std::move(e));
        }
        changed.notify_all();
    }

    void finish() {
        if (fd >= 0) ::close(fd);
        fd = -1;
        stage = Stage::done;
        std::lock_guard lock(mutex);
        unsent = 0;
    }

    /** The connection failed or ended before the closing handshake. */
    void ended(const std::string& why) {
        if (stage == Stage::upgrading || stage == Stage::connecting || stage == Stage::start) {
            publish_upgrade({false, 0, {}, why});
        } else if (stage == Stage::open) {
            push({Event::Kind::closed, why, 0});
        }
        finish();
    }

    void begin() {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return ended(std::string("cannot open a socket: ") + std::strerror(errno));
        if (options.receive_buffer > 0)
            ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &options.receive_buffer, sizeof options.receive_buffer);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        deadline = Clock::now() + options.handshake_timeout;
        stage = Stage::connecting;
        if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 && errno != EINPROGRESS)
            return ended(std::string("cannot connect: ") + std::strerror(errno));
    }

    void connected() {
        int so_error = 0;
        socklen_t length = sizeof so_error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &length);
        if (so_error != 0) return ended(std::string("cannot connect: ") + std::strerror(so_error));
        key = random_key();
        request = "GET " + options.target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                  "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                  "\r\nSec-WebSocket-Version: 13\r\n";
        for (auto& [name, value] : options.headers)
            request += name + ": " + value + "\r\n";
        request += "\r\n";
        stage = Stage::upgrading;
    }

    /** The response head is in `in`: 101 with the right accept key, or a refusal with its body. */
    void on_response() {
        auto end = in.find("\r\n\r\n");
        if (end == std::string::npos) return;
        std::string head = in.substr(0, end + 2);
        int status = status_code(head);
        if (status != 101) {
            // A refusal: its body, as far as Content-Length says (or until the server hangs up).
            auto length = header_value(head, "Content-Length");
            std::size_t want = length ? static_cast<std::size_t>(std::strtoull(length->c_str(), nullptr, 10)) : 0;
            if (length && in.size() - (end + 4) < want) return;  // more to come
            publish_upgrade({false, status, in.substr(end + 4, want), "HTTP " + std::to_string(status)});
            return finish();
        }
        auto accept = header_value(head, "Sec-WebSocket-Accept");
        if (!accept || *accept != websocket_accept(key))
            return ended("the 101 has no Sec-WebSocket-Accept, or a wrong one (RFC 6455 4.2.2)");
        in.erase(0, end + 4);
        stage = Stage::open;
        deadline = Clock::time_point::max();
        publish_upgrade({true, 101, {}, {}});
        on_frames();
    }

    void on_frames() {
        while (stage == Stage::open || stage == Stage::closing) {
            if (!reading) return;
            std::string error;
            auto frame = take_frame(in, true, error);
            if (!frame) {
                if (!error.empty()) protocol_error(error);
                return;
            }
            on_frame(std::move(*frame));
        }
    }

    void on_frame(Frame f) {
        switch (f.opcode) {
            case opcode::ping:
                out += client_frame(opcode::pong, f.payload);
                return;
            case opcode::pong:
                return;
            case opcode::close: {
                auto reason = parse_close(f.payload);
                if (!close_sent)
                    out += client_frame(opcode::close, close_payload(reason.code == 1005 ? 1000 : reason.code));
                close_sent = true;
                if (stage == Stage::open) push({Event::Kind::closed, reason.reason, reason.code});
                stage = Stage::closing;
                deadline = Clock::now() + teardown_wait;  // the server ends TCP now
                reading = false;
                return;
            }
            default:
                break;
        }
        if (f.opcode != opcode::continuation) {
            message_opcode = f.opcode;
            message.clear();
        }
        message += f.payload;
        if (!f.fin) return;
        push({message_opcode == opcode::text ? Event::Kind::text : Event::Kind::binary, std::move(message), 0});
        message.clear();
        if (!options.keep_reading) reading = false;
    }

    void protocol_error(const std::string& what) {
        if (stage == Stage::open) push({Event::Kind::closed, "the server broke RFC 6455: " + what, 0});
        finish();
    }

    /** Takes what the callers' threads asked for. */
    void take_posted() {
        std::deque<std::string> frames;
        bool close_now = false, abort_now = false;
        {
            std::lock_guard lock(mutex);
            frames.swap(posted);
            close_now = close_wanted;
            abort_now = abort_wanted;
            close_wanted = false;
        }
        if (abort_now) return stage == Stage::done ? void() : (stage = Stage::closing, finish());
        if (stage == Stage::done) return;
        for (auto& f : frames) {
            out += f;
            boundaries.push_back(out.size());
        }
        if (close_now && !close_sent && stage == Stage::open) {
            out += client_frame(opcode::close, close_payload(1000));
            close_sent = true;
            deadline = Clock::now() + options.handshake_timeout;  // for the server's answer
        }
    }

    void read_some() {
        char chunk[64 * 1024];
        ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n > 0) {
            in.append(chunk, static_cast<std::size_t>(n));
            if (stage == Stage::upgrading) return on_response();
            if (stage == Stage::closing && !reading) return in.clear();  // after the close only the TCP end matters
            return on_frames();
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (stage == Stage::upgrading && n == 0) {
            // A refusal without Content-Length ends with the connection.
            auto end = in.find("\r\n\r\n");
            if (end != std::string::npos) {
                int status = status_code(in);
                if (status != 0 && status != 101) {
                    publish_upgrade({false, status, in.substr(end + 4), "HTTP " + std::to_string(status)});
                    return finish();
                }
            }
        }
        if (stage == Stage::closing) return finish();  // the server ended TCP after the close frames
        ended(n == 0 ? "the server ended the connection without a close frame"
                     : std::string("read failed: ") + std::strerror(errno));
    }

    void write_some() {
        ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            if (stage == Stage::closing) return finish();
            return ended(std::string("write failed: ") + std::strerror(errno));
        }
        out.erase(0, static_cast<std::size_t>(n));
        std::size_t done = 0;
        for (auto& b : boundaries) {
            if (b <= static_cast<std::size_t>(n)) {
                ++done;
                b = 0;
            } else {
                b -= static_cast<std::size_t>(n);
            }
        }
        while (!boundaries.empty() && boundaries.front() == 0)
            boundaries.pop_front();
        if (done) {
            std::lock_guard lock(mutex);
            unsent -= std::min(unsent, done);
        }
    }

    /** Poll events wanted now; 0 when the client is done. */
    short wanted() const {
        switch (stage) {
            case Stage::start:
            case Stage::done:
                return 0;
            case Stage::connecting:
                return POLLOUT;
            case Stage::upgrading:
                return static_cast<short>(POLLIN | (request.empty() ? 0 : POLLOUT));
            case Stage::open:
            case Stage::closing: {
                // Frames queued before the 101 wait for it; a deaf client stops reading.
                short e = (reading || stage == Stage::closing) ? POLLIN : 0;
                if (!out.empty()) e |= POLLOUT;
                return e;
            }
        }
        return 0;
    }

    void on_ready(short revents) {
        if (stage == Stage::connecting) {
            if (revents & (POLLOUT | POLLERR | POLLHUP)) connected();
            return;
        }
        if (revents & (POLLIN | POLLHUP | POLLERR)) read_some();
        if (stage == Stage::done || !(revents & POLLOUT)) return;
        if (stage == Stage::upgrading) {
            write_request();  // frames queued meanwhile wait for the 101
        } else if (!out.empty()) {
            write_some();
        }
    }

    void write_request() {
        ssize_t n = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            return ended(std::string("write failed: ") + std::strerror(errno));
        }
        request.erase(0, static_cast<std::size_t>(n));
    }

    void on_deadline() {
        if (stage == Stage::connecting || stage == Stage::upgrading)
            return ended("no answer to the upgrade request within " +
                         std::to_string(options.handshake_timeout.count()) + " ms");
        if (stage == Stage::open)
            return ended("no answer to the close frame within " + std::to_string(options.handshake_timeout.count()) +
                         " ms");
        finish();  // closing: the server did not end TCP; we do
    }
};

struct Loop::Impl {
    std::mutex mutex;
    std::vector<std::shared_ptr<Client::Impl>> clients;  // guarded by mutex; done ones are dropped by the thread
    int wake[2] = {-1, -1};
    std::atomic<bool> stopping{false};
    std::thread thread;

    void notify() {
        char c = 1;
        [[maybe_unused]] auto n = ::write(wake[1], &c, 1);
    }

    void run() {
        std::vector<std::shared_ptr<Client::Impl>> active;
        std::vector<pollfd> fds;
        while (!stopping) {
            {
                std::lock_guard lock(mutex);
                active = clients;
            }
            auto now = Clock::now();
            auto next_deadline = now + std::chrono::milliseconds(200);
            fds.assign(1, pollfd{wake[0], POLLIN, 0});
            for (auto& c : active) {
                if (c->stage == Client::Impl::Stage::start) c->begin();
                c->take_posted();
                if (c->stage != Client::Impl::Stage::done && c->deadline <= now) c->on_deadline();
                next_deadline = std::min(next_deadline, c->deadline);
                fds.push_back(pollfd{c->fd, c->wanted(), 0});
            }
            auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_deadline - now).count();
            ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long long>(0, wait)));
            if (fds[0].revents & POLLIN) {
                char drain[256];
                while (::read(wake[0], drain, sizeof drain) > 0) {
                }
            }
            for (std::size_t i = 0; i < active.size(); ++i)
                if (fds[i + 1].revents && active[i]->stage != Client::Impl::Stage::done)
                    active[i]->on_ready(fds[i + 1].revents);
            std::lock_guard lock(mutex);
            clients.erase(std::remove_if(clients.begin(), clients.end(),
                                         [](auto& c) { return c->stage == Client::Impl::Stage::done; }),
                          clients.end());
        }
        for (auto& c : active)
            if (c->stage != Client::Impl::Stage::done) c->ended("the kit's client loop stopped");
        std::lock_guard lock(mutex);
        for (auto& c : clients)
            if (c->stage != Client::Impl::Stage::done) c->ended("the kit's client loop stopped");
    }
};

Client::Client(Loop& loop, std::uint16_t port, ConnectOptions options)
    : impl_(std::make_shared<Impl>(port, std::move(options))), loop_(loop.impl.get()) {
    {
        std::lock_guard lock(loop_->mutex);
        loop_->clients.push_back(impl_);
    }
    loop_->notify();
}

Client::~Client() = default;

Upgrade Client::wait_upgrade(std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->mutex);
    if (!impl_->changed.wait_for(lock, timeout, [&] { return impl_->upgrade.has_value(); }))
        return {false, 0, {}, "no answer to the upgrade request within " + std::to_string(timeout.count()) + " ms"};
    return *impl_->upgrade;
}

void Client::post(std::string frame) {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->posted.push_back(std::move(frame));
        ++impl_->unsent;
    }
    loop_->notify();
}

void Client::send_text(std::string text) {
    post(client_frame(opcode::text, text));
}

void Client::send_binary(std::string data) {
    post(client_frame(opcode::binary, data));
}

std::size_t Client::unsent() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->unsent;
}

std::optional<Event> Client::next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->mutex);
    if (!impl_->changed.wait_for(lock, timeout, [&] { return !impl_->events.empty(); })) return std::nullopt;
    Event e = std::move(impl_->events.front());
    impl_->events.pop_front();
    return e;
}

void Client::close() {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->close_wanted = true;
    }
    loop_->notify();
}

void Client::abort() {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->abort_wanted = true;
    }
    loop_->notify();
}

Loop::Loop() : impl(std::make_unique<Impl>()) {
    if (::pipe2(impl->wake, O_NONBLOCK | O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe");
    impl->thread = std::thread([i = impl.get()] { i->run(); });
}

Loop::~Loop() {
    impl->stopping = true;
    impl->notify();
    impl->thread.join();
    ::close(impl->wake[0]);
    ::close(impl->wake[1]);
}

bool port_accepts(std::uint16_t port, std::chrono::milliseconds timeout) {
    RawClient probe;
    return probe.connect(port, 0, timeout);
}

}  // namespace switchboard::testing::detail

#include "faulty_adapter.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include <switchboard/transport.hpp>

#include "client_frames.hpp"

namespace switchboard::test {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace kit = switchboard::testing::detail;

/** Writes all of `bytes` on the blocking `fd`; false once the socket failed. */
bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

/** Waits up to `wait` for input on `fd`, then reads what came into `in`; false on end of stream or error. */
bool read_some(int fd, std::string& in, std::chrono::milliseconds wait) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) != 1) return true;
    char chunk[16 * 1024];
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    in.append(chunk, static_cast<std::size_t>(n));
    return true;
}

}  // namespace

struct FaultyAdapter::State {
    Hub* hub = nullptr;
    testing::TransportSettings settings;
    Faults faults;
    int listener = -1;
    std::atomic<bool> stopping{false};
    std::thread acceptor;

    std::mutex mutex;
    std::condition_variable changed;
    std::list<std::thread> sessions;  // one per connection, joined by stop()
    std::size_t open = 0;             // sessions still running
    std::vector<std::shared_ptr<Connection>> live;
};

namespace {

/** One client: its reader runs on the session thread, its writer on a thread of its own. */
class FaultyConnection : public Connection, public std::enable_shared_from_this<FaultyConnection> {
public:
    FaultyConnection(FaultyAdapter::State& state, int fd) : state_(state), fd_(fd) {}

    void send(std::shared_ptr<const std::string> text) override {
        if (state_.faults.unlocked_writes) {
            // The fault: the caller's thread writes, in two pieces, with no lock.
            auto frame = kit::server_frame(kit::opcode::text, *text);
            auto header = frame.size() - text->size();
            // Shared: the writes interleave (the fault); only closing the socket waits for them.
            std::shared_lock open(fd_open_);
            if (fd_closed_) return;
            write_all(fd_, std::string_view(frame).substr(0, header));
            std::this_thread::yield();
            write_all(fd_, std::string_view(frame).substr(header));
            return;
        }
        push(kit::server_frame(kit::opcode::text, *text));
    }

    bool offer(std::shared_ptr<const std::string> text) override {
        {
            std::lock_guard lock(mutex_);
            if (queued_bytes_ > state_.settings.queue_max_bytes / 2) return false;
        }
        send(std::move(text));
        return true;
    }

    void close(int code, std::string_view reason) override {
        {
            std::lock_guard lock(mutex_);
            if (closing_) return;
            closing_ = true;
            closing_since_ = Clock::now();
        }
        push(kit::server_frame(kit::opcode::close, kit::close_payload(code, reason)));
    }

    /** The session thread: handshake, then frames until the connection ends. */
    void serve() {
        writer_ = std::thread([this] { write_loop(); });
        run();
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        wake_.notify_all();
        writer_.join();
        ::shutdown(fd_, SHUT_RDWR);
        std::unique_lock closing(fd_open_);
        fd_closed_ = true;
        ::close(fd_);
    }

private:
    void push(std::string frame) {
        {
            std::lock_guard lock(mutex_);
            if (done_) return;
            queued_bytes_ += frame.size();
            queue_.push_back(std::move(frame));
        }
        wake_.notify_all();
    }

    void write_loop() {
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return done_ || !queue_.empty(); });
            if (queue_.empty()) return;
            std::string frame;
            if (state_.faults.reversed_bursts) {
                frame = std::move(queue_.back());  // the fault: newest first
                queue_.pop_back();
            } else {
                frame = std::move(queue_.front());
                queue_.pop_front();
            }
            queued_bytes_ -= frame.size();
            lock.unlock();
            bool ok = write_all(fd_, frame);
            lock.lock();
            if (!ok) return;
        }
    }

    /** Reads the upgrade request within handshake_timeout (unless the fault is on); "" when none came. */
    std::string read_request() {
        auto deadline = Clock::now() + state_.settings.handshake_timeout;
        while (in_.find("\r\n\r\n") == std::string::npos) {
            if (state_.stopping) return {};
            if (!state_.faults.no_handshake_timeout && Clock::now() > deadline) return {};
            if (in_.size() > 16 * 1024 || !read_some(fd_, in_, 50ms)) return {};
        }
        auto end = in_.find("\r\n\r\n") + 4;
        auto head = in_.substr(0, end);
        in_.erase(0, end);
        return head;
    }

    void refuse(int status, std::string_view body) {
        write_all(fd_, "HTTP/1.1 " + std::to_string(status) + " Refused\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + std::string(body));
    }

    void run() {
        auto head = read_request();
        if (head.empty()) return;
        auto line_end = head.find("\r\n");
        auto line = head.substr(0, line_end);
        auto first = line.find(' '), last = line.rfind(' ');
        auto key = kit::header_value(head, "Sec-WebSocket-Key");
        if (first == std::string::npos || last <= first || !key || !kit::header_value(head, "Host"))
            return refuse(400, "not a WebSocket upgrade");
        Handshake handshake;
        auto target = split_target(std::string_view(line).substr(first + 1, last - first - 1));
        handshake.path = std::string(target.path);
        handshake.query = std::string(target.query);
        handshake.remote_address = "127.0.0.1";
        for (std::size_t at = line_end + 2; at + 2 < head.size();) {
            auto end = head.find("\r\n", at);
            auto colon = head.find(':', at);
            if (colon != std::string::npos && colon < end) {
                auto value = head.substr(colon + 1, end - colon - 1);
                value.erase(0, value.find_first_not_of(' '));
                handshake.headers.emplace_back(head.substr(at, colon - at), value);
            }
            at = end + 2;
        }
        auto admission = state_.hub->admit(std::move(handshake));
        if (!admission) return refuse(admission.status(), admission.reason());
        if (!write_all(fd_,
                       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: " +
                           kit::websocket_accept(*key) + "\r\n\r\n"))
            return;
        auto session = state_.hub->open(std::move(admission), shared_from_this());
        auto how = read_frames(session.get());
        if (session) state_.hub->leave(*session, how);
    }

    /** Until the client's close frame, the end of TCP, or the closing handshake's time running out. */
    Departure read_frames(Session* session) {
        for (;;) {
            std::string error;
            while (auto frame = kit::take_frame(in_, false, error)) {
                if (frame->opcode == kit::opcode::close) {
                    close(1000, "");  // our answer, unless we closed first
                    return Departure::closed;
                }
                if (frame->opcode == kit::opcode::ping) push(kit::server_frame(kit::opcode::pong, frame->payload));
                if (frame->opcode == kit::opcode::binary) close(1003, "binary frame");
                if (frame->opcode == kit::opcode::text && session && !closing())
                    state_.hub->receive(*session, frame->payload);
            }
            if (!error.empty()) {
                close(1002, "protocol error");
                return Departure::closed;
            }
            if (closing() && Clock::now() - closing_since() > close_limit()) return Departure::closed;
            if (!read_some(fd_, in_, 20ms)) return closing() ? Departure::closed : Departure::lost;
        }
    }

    std::chrono::milliseconds close_limit() const {
        return state_.faults.slow_stop && state_.stopping ? std::chrono::milliseconds(4'000)
                                                          : state_.settings.close_timeout;
    }

    bool closing() {
        std::lock_guard lock(mutex_);
        return closing_;
    }

    Clock::time_point closing_since() {
        std::lock_guard lock(mutex_);
        return closing_since_;
    }

    FaultyAdapter::State& state_;
    const int fd_;
    std::shared_mutex fd_open_;  // unlocked_writes: writers share it, close takes it alone
    bool fd_closed_ = false;
    std::string in_;  // the session thread's
    std::thread writer_;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::string> queue_;
    std::size_t queued_bytes_ = 0;
    bool closing_ = false;
    Clock::time_point closing_since_;
    bool done_ = false;
};

}  // namespace

FaultyAdapter::FaultyAdapter(Faults faults) : faults_(faults) {}

FaultyAdapter::~FaultyAdapter() {
    if (state_) stop();
}

std::uint16_t FaultyAdapter::start(Hub& hub, const testing::TransportSettings& settings) {
    state_ = std::make_shared<State>();
    state_->hub = &hub;
    state_->settings = settings;
    state_->faults = faults_;
    state_->listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(state_->listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(state_->listener, 128) != 0 ||
        ::getsockname(state_->listener, reinterpret_cast<sockaddr*>(&address), &length) != 0)
        throw std::runtime_error("the faulty adapter cannot listen on 127.0.0.1");
    state_->acceptor = std::thread([state = state_.get()] {
        while (!state->stopping) {
            pollfd p{state->listener, POLLIN, 0};
            if (::poll(&p, 1, 20) != 1) continue;
            int fd = ::accept4(state->listener, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            auto connection = std::make_shared<FaultyConnection>(*state, fd);
            std::lock_guard lock(state->mutex);
            ++state->open;
            state->live.push_back(connection);
            state->sessions.emplace_back([state, connection] {
                connection->serve();
                std::lock_guard lock(state->mutex);
                --state->open;
                state->changed.notify_all();
            });
        }
    });
    return ntohs(address.sin_port);
}

void FaultyAdapter::stop() {
    if (!state_) return;
    state_->stopping = true;
    state_->acceptor.join();
    ::close(state_->listener);
    std::vector<std::shared_ptr<Connection>> live;
    {
        std::lock_guard lock(state_->mutex);
        live = state_->live;
    }
    for (auto& c : live)
        c->close(close_code::going_away, "server shutting down");
    for (auto& t : state_->sessions)
        t.join();
    state_.reset();
}

}  // namespace switchboard::test

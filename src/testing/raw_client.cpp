#include "raw_client.hpp"

#include "client_frames.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace switchboard::testing::detail {

namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
}

/** Waits until `fd` is ready for `events` or `timeout` passes; false on timeout. */
bool ready(int fd, short events, int timeout_ms) {
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, timeout_ms) == 1;
}

}  // namespace

bool ByteStream::start(int, std::chrono::milliseconds, std::string&) {
    return true;
}

long ByteStream::write_some(int fd, const char* data, std::size_t size, short& wait, std::string& error) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        wait = POLLOUT;
        return -1;
    }
    error = std::string("send: ") + std::strerror(errno);
    return -2;
}

long ByteStream::read_some(int fd, char* data, std::size_t size, short& wait, std::string& error) {
    ssize_t n = ::recv(fd, data, size, 0);
    if (n >= 0) return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        wait = POLLIN;
        return -1;
    }
    error = std::string("recv: ") + std::strerror(errno);
    return -2;
}

RawClient::RawClient(std::unique_ptr<ByteStream> stream)
    : stream_(stream ? std::move(stream) : std::make_unique<ByteStream>()) {}

RawClient::~RawClient() {
    if (fd_ >= 0) ::close(fd_);
}

bool RawClient::connect(std::uint16_t port, int receive_buffer, std::chrono::milliseconds timeout,
                        const std::string& local) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        error_ = std::string("socket: ") + std::strerror(errno);
        return false;
    }
    if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    if (!local.empty()) {
        sockaddr_in from{};
        from.sin_family = AF_INET;
        if (::inet_pton(AF_INET, local.c_str(), &from.sin_addr) != 1 ||
            ::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
            error_ = "bind " + local + ": " + std::strerror(errno);
            return false;
        }
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 && errno != EINPROGRESS) {
        error_ = std::string("connect: ") + std::strerror(errno);
        return false;
    }
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
        error_ = "connect: timed out";
        return false;
    }
    int so_error = 0;
    socklen_t length = sizeof so_error;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &so_error, &length);
    if (so_error != 0) {
        error_ = std::string("connect: ") + std::strerror(so_error);
        return false;
    }
    return stream_->start(fd_, timeout, error_);
}

std::string RawClient::upgrade_request(std::string_view target, std::string_view key, bool with_host) {
    std::string r = "GET " + std::string(target) + " HTTP/1.1\r\n";
    if (with_host) r += "Host: 127.0.0.1\r\n";
    r += "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + std::string(key) +
         "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    return r;
}

int RawClient::request(std::string_view request, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    if (!write(request, timeout)) return 0;
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
        if (!fill(std::chrono::milliseconds(remaining_ms(deadline)))) return 0;
    std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    return status_code(head);
}

bool RawClient::write(std::string_view bytes, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (!bytes.empty()) {
        short wait = POLLOUT;
        long n = stream_->write_some(fd_, bytes.data(), bytes.size(), wait, error_);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n == -2) return false;
        if (!ready(fd_, wait, remaining_ms(deadline))) {
            error_ = "send: the server took nothing for the whole timeout";
            return false;
        }
    }
    return true;
}

bool RawClient::fill(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (!eof_) {
        char chunk[64 * 1024];
        short wait = POLLIN;
        long n = stream_->read_some(fd_, chunk, sizeof chunk, wait, error_);
        if (n > 0) {
            buffer_.append(chunk, static_cast<std::size_t>(n));
            return true;
        }
        if (n == 0 || n == -2) {
            eof_ = true;  // the end, or a reset: either way the server is gone
            break;
        }
        if (!ready(fd_, wait, remaining_ms(deadline))) break;
    }
    return false;
}

std::optional<RawFrame> RawClient::next_frame(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        std::string broken;
        if (auto f = take_frame(buffer_, true, broken)) return RawFrame{f->opcode, std::move(f->payload)};
        if (!broken.empty()) {
            error_ = "the server broke RFC 6455: " + broken;
            return std::nullopt;
        }
        if (!fill(std::chrono::milliseconds(remaining_ms(deadline)))) return std::nullopt;
    }
}

bool RawClient::wait_closed(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (!eof_) {
        buffer_.clear();
        if (!fill(std::chrono::milliseconds(remaining_ms(deadline))) && !eof_) return false;
    }
    return true;
}

std::string RawClient::frame(int opcode, std::string_view payload) {
    return client_frame(opcode, payload);
}

}  // namespace switchboard::testing::detail

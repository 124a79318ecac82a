// Internal to switchboard_testing: a WebSocket client that writes raw bytes
// on a POSIX socket, for what a well-behaved client never does (flood pings,
// close while not reading, send a malformed upgrade). Every call is bounded
// by its timeout; nothing blocks longer. The bytes go over the TCP socket
// itself, or over a ByteStream of yours on it (the Beast tests put TLS
// there), so that one raw client serves every test.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::testing::detail {

/** One frame from the server (servers do not mask; the kit reads only unfragmented frames). */
struct RawFrame {
    int opcode = 0;
    std::string payload;
};

/** What a RawClient's bytes go through once TCP is connected: the socket itself, or e.g. TLS over it. */
class ByteStream {
public:
    virtual ~ByteStream() = default;

    /** After TCP connected on the non-blocking `fd` (e.g. the TLS handshake); false, with `error`, on failure. */
    virtual bool start(int fd, std::chrono::milliseconds timeout, std::string& error);

    /**
     * Like send(2) and recv(2) on the non-blocking `fd`: the bytes moved;
     * 0 for the end of the stream (reads only); -1 when it would block,
     * with `wait` set to POLLIN or POLLOUT; -2 on an error, with `error` set.
     */
    virtual long write_some(int fd, const char* data, std::size_t size, short& wait, std::string& error);
    virtual long read_some(int fd, char* data, std::size_t size, short& wait, std::string& error);
};

class RawClient {
public:
    /** `stream`: what the bytes go through; none means the TCP socket itself. */
    explicit RawClient(std::unique_ptr<ByteStream> stream = nullptr);
    ~RawClient();
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    /**
     * Connects to 127.0.0.1:port; `receive_buffer` > 0 sets SO_RCVBUF first,
     * a non-empty `local` (an IPv4 loopback address) binds to it first.
     * False on failure (see error()).
     */
    bool connect(std::uint16_t port, int receive_buffer, std::chrono::milliseconds timeout,
                 const std::string& local = {});

    /**
     * Writes `request` (a whole HTTP request) and reads the response head;
     * returns its status code, 0 when none came. Bytes after the head stay
     * buffered for next_frame().
     */
    int request(std::string_view request, std::chrono::milliseconds timeout);

    /** The upgrade request for `target` that a browser would send. */
    static std::string upgrade_request(std::string_view target,
                                       std::string_view key = "dGhlIHNhbXBsZSBub25jZQ==", bool with_host = true);

    /** Writes all of `bytes`; false on error or when the server stops taking them for `timeout`. */
    bool write(std::string_view bytes, std::chrono::milliseconds timeout);

    /** The next frame; nullopt on timeout, end of stream or error. */
    std::optional<RawFrame> next_frame(std::chrono::milliseconds timeout);

    /** True when the server ends the TCP connection (end of stream or reset) within `timeout`; reads and drops data. */
    bool wait_closed(std::chrono::milliseconds timeout);

    /** A masked client frame: FIN set, `opcode`, `payload` (any length). */
    static std::string frame(int opcode, std::string_view payload);

    /** The server ended the stream (seen by a read): TCP, or the ByteStream's own end (TLS close_notify). */
    bool ended() const noexcept { return eof_; }

    const std::string& error() const noexcept { return error_; }

    /** The TCP socket, e.g. to watch TCP itself under a ByteStream; -1 before connect. */
    int fd() const noexcept { return fd_; }

private:
    /** Reads what is available into buffer_ within `timeout`; false on timeout, EOF (eof_ set) or error. */
    bool fill(std::chrono::milliseconds timeout);

    std::unique_ptr<ByteStream> stream_;
    int fd_ = -1;
    std::string buffer_;
    bool eof_ = false;
    std::string error_;
};

}  // namespace switchboard::testing::detail

// Internal to switchboard_testing: a small WebSocket client for the kit, on
// POSIX sockets (client.cpp). All clients of a Loop run on the Loop's one
// thread; their member functions may be called from any other thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace switchboard::testing::detail {

/** Something a client observed after its upgrade. */
struct Event {
    enum class Kind { text, binary, closed };
    Kind kind = Kind::text;
    std::string data;    ///< the message; for `closed`, the close reason or the transport error
    int close_code = 0;  ///< for `closed`: the server's close code, 0 when the connection ended without one
};

/** The outcome of the HTTP upgrade. */
struct Upgrade {
    bool accepted = false;
    int status = 0;     ///< 101, the refusal's HTTP status, or 0 when no response came
    std::string body;   ///< the refusal's body
    std::string error;  ///< when no response came: why
};

struct ConnectOptions {
    std::string target = "/";
    std::vector<std::pair<std::string, std::string>> headers;
    /** false: read one message (the login) and then nothing more, so pings go unanswered. */
    bool keep_reading = true;
    /** SO_RCVBUF set before connecting; 0 keeps the system default. */
    int receive_buffer = 0;
    std::chrono::milliseconds handshake_timeout{5'000};
};

/** The thread that runs clients: it polls their sockets. The destructor ends every client still connected. */
class Loop {
public:
    Loop();
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    struct Impl;
    std::unique_ptr<Impl> impl;
};

class Client {
public:
    /** Starts connecting at once. The Loop must outlive the client. */
    Client(Loop& loop, std::uint16_t port, ConnectOptions options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /** Waits for the upgrade's outcome. */
    Upgrade wait_upgrade(std::chrono::milliseconds timeout);
    /** Queue a frame; frames go out in call order. */
    void send_text(std::string text);
    void send_binary(std::string data);
    /** Frames queued and not yet written. */
    std::size_t unsent() const;
    /** The next event, or nullopt when none came within `timeout`. */
    std::optional<Event> next(std::chrono::milliseconds timeout);
    /** Start the closing handshake (1000) once the queued frames are written. */
    void close();
    /** Drop the TCP connection now, without a closing handshake (a network failure, as the server sees it). */
    void abort();

    struct Impl;

private:
    /** Queues a frame for the loop thread and wakes it. */
    void post(std::string frame);

    std::shared_ptr<Impl> impl_;
    Loop::Impl* loop_;
};

/** True when something accepts TCP connections on 127.0.0.1:port (within `timeout`). */
bool port_accepts(std::uint16_t port, std::chrono::milliseconds timeout);

}  // namespace switchboard::testing::detail

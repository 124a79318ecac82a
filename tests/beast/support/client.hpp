// Test support: real-socket clients for the Beast adapter tests. Every call
// is bounded by a timeout so a failing test fails instead of hanging. The
// Beast code lives in client.cpp, so test files compile quickly.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace switchboard::test {

using namespace std::chrono_literals;

using Headers = std::vector<std::pair<std::string, std::string>>;

/** A WebSocket client on its own io_context, driven synchronously with timeouts. */
class WsClient {
public:
    WsClient();
    ~WsClient();
    WsClient(const WsClient&) = delete;
    WsClient& operator=(const WsClient&) = delete;

    /**
     * Connect to 127.0.0.1:port and upgrade at `target`. Returns the HTTP
     * status: 101 when upgraded, the refusal status otherwise (see
     * refusal_body), 0 on a network error or timeout.
     */
    int connect(std::uint16_t port, std::string target = "/", const Headers& headers = {},
                std::chrono::milliseconds timeout = 5s);

    /** TLS variant (wss), trusting `ca_file` for 127.0.0.1. */
    int connect_tls(std::uint16_t port, const std::string& ca_file, std::string target = "/",
                    std::chrono::milliseconds timeout = 5s);

    /** Body of a refused upgrade. */
    const std::string& refusal_body() const noexcept;

    /** Shrink the receive buffer (before connect) so that a client that never reads fills up quickly. */
    void small_receive_buffer();

    /** Connect from this loopback address (before connect), e.g. "127.0.0.2": another client address. */
    void bind_to(std::string loopback_address);

    bool send(std::string_view text, std::chrono::milliseconds timeout = 5s);
    bool send_binary(std::string_view data, std::chrono::milliseconds timeout = 5s);

    /** The next text message, or nullopt on close, error or timeout (the client is then unusable). */
    std::optional<std::string> receive_text(std::chrono::milliseconds timeout = 5s);
    std::optional<nlohmann::json> receive(std::chrono::milliseconds timeout = 5s);

    /** Read until a message whose `type` is `type` (others are skipped); nullopt on close/timeout. */
    std::optional<nlohmann::json> receive_type(std::string_view type, std::chrono::milliseconds timeout = 5s);

    /** Read until the server closes; returns the close code (0 if none arrived in time). */
    int wait_closed(std::chrono::milliseconds timeout = 5s);

    /** After a read failed because the server closed: its close code and reason. */
    int close_code() const;
    std::string close_reason() const;
    /**
     * After a read failed: true when it failed because the server closed
     * cleanly, i.e. its close frame came and, over TLS, the TLS session
     * ended with a close_notify. A dropped TCP connection gives false.
     */
    bool closed_cleanly() const;

    /**
     * Our close handshake (1000). True when it ended cleanly within the
     * timeout: the server answered the close frame and, over TLS, ended the
     * TLS session with a close_notify (Beast reports a truncated stream
     * otherwise).
     */
    bool close(std::chrono::milliseconds timeout = 2s);

    /** Our ID, from the `login` read by `login()`. */
    std::uint64_t id() const noexcept { return id_; }

    /** connect() then read `login`; returns it (REQUIRE-style helpers live in the tests). */
    std::optional<nlohmann::json> login(std::uint16_t port, std::string target = "/", const Headers& headers = {});

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::uint64_t id_ = 0;
};

struct HttpResult {
    int status = 0;  ///< 0: no answer
    std::string content_type;
    std::string content_length;
    std::string body;
};

/** One HTTP/1.1 request to 127.0.0.1:port with `target` sent verbatim (no normalisation), and `body` if any. */
HttpResult http_request(std::uint16_t port, std::string_view method, std::string_view target,
                        const Headers& headers = {}, std::chrono::milliseconds timeout = 5s,
                        std::string_view body = {});

/**
 * A plain WebSocket client that writes raw bytes, for clients that break
 * rules browsers keep. Blocking calls, each bounded by 5 s.
 */
class RawClient {
public:
    RawClient();
    ~RawClient();
    /**
     * Connects to 127.0.0.1:port and writes the upgrade request for
     * `target` with `early` right behind it in the same write, without
     * waiting for the 101; true when the 101 came.
     */
    bool upgrade_with(std::uint16_t port, std::string_view target, std::string_view early);
    bool write(std::string_view bytes);
    /** The next text message from the server; nullopt on close, error or timeout. */
    std::optional<std::string> next_text();
    /** Only a TCP connection from `local` (a loopback address), nothing sent; true once connected. */
    bool connect_from(const std::string& local, std::uint16_t port);
    /** True when the server closes the connection (end of stream or reset) within 5 s. */
    bool wait_hangup();
    /** A client text frame (masked, with a zero key), up to 64 KiB of text. */
    static std::string text_frame(std::string_view text);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/**
 * A wss client that closes the WebSocket but never ends TLS: it sends a
 * close frame, reads up to the server's close frame, and from then on sends
 * nothing and keeps TCP open. It is the kit's raw client (as RawClient is)
 * with OpenSSL under it. Blocking calls, each bounded by `timeout`.
 */
class TlsCloseHolder {
public:
    TlsCloseHolder();
    ~TlsCloseHolder();
    /** TLS handshake (trusting `ca_file`) and upgrade at "/"; true on 101. */
    bool connect(std::uint16_t port, const std::string& ca_file, std::chrono::milliseconds timeout = 5s);
    /** Sends a close frame (1000) and returns the code of the server's close frame, 0 if none came. */
    int close_websocket();
    /** True when the server's close_notify came (its TLS session ended cleanly) before `timeout`. */
    bool wait_close_notify(std::chrono::milliseconds timeout = 5s);
    /** True when the server closed TCP (end of stream on the raw socket) before `timeout`. */
    bool wait_tcp_closed(std::chrono::milliseconds timeout = 5s);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/** A self-signed certificate and key for 127.0.0.1, written with the openssl CLI into a temp dir. */
struct TlsFiles {
    std::string cert;
    std::string key;
};
std::optional<TlsFiles> make_self_signed_cert();

}  // namespace switchboard::test

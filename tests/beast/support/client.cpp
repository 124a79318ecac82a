#include "client.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "client_frames.hpp"
#include "raw_client.hpp"

namespace switchboard::test {

namespace net = boost::asio;
namespace bb = boost::beast;
namespace http = bb::http;
namespace websocket = bb::websocket;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

/** Runs the io_context until `done` or the timeout; on timeout closes `socket` so pending work ends. */
bool run_until(net::io_context& io, const bool& done, std::chrono::milliseconds timeout, tcp::socket& socket) {
    io.restart();
    io.run_for(timeout);
    if (done) return true;
    bb::error_code ignored;
    socket.close(ignored);
    io.restart();
    io.run_for(1s);
    return false;
}

}  // namespace

struct WsClient::Impl {
    net::io_context io;
    std::optional<ssl::context> tls_context;
    std::unique_ptr<websocket::stream<bb::tcp_stream>> plain;
    std::unique_ptr<websocket::stream<bb::ssl_stream<bb::tcp_stream>>> tls;
    bb::flat_buffer buffer;
    std::string refusal_body;
    bool small_buffer = false;
    std::string local_address;
    bool broken = false;
    bool closed_cleanly = false;  // the read that broke the client ended with a clean close

    tcp::socket& socket() {
        return plain ? bb::get_lowest_layer(*plain).socket() : bb::get_lowest_layer(*tls).socket();
    }

    template <class F>
    auto with(F&& f) {
        return plain ? f(*plain) : f(*tls);
    }

    bool tcp_connect(std::uint16_t port, std::chrono::milliseconds timeout) {
        auto& s = socket();
        bb::error_code ec;
        s.open(tcp::v4(), ec);
        if (small_buffer) s.set_option(net::socket_base::receive_buffer_size(4096), ec);
        if (!local_address.empty()) s.bind(tcp::endpoint(net::ip::make_address(local_address), 0), ec);
        bool done = false;
        bool ok = false;
        s.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [&](bb::error_code e) {
            done = true;
            ok = !e;
        });
        return run_until(io, done, timeout, s) && ok;
    }

    template <class Ws>
    int upgrade(Ws& ws, std::uint16_t port, const std::string& target, const Headers& headers,
                std::chrono::milliseconds timeout) {
        ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& request) {
            for (const auto& [name, value] : headers)
                request.set(name, value);
        }));
        ws.auto_fragment(false);
        websocket::response_type response;
        bool done = false;
        bb::error_code result;
        ws.async_handshake(response, "127.0.0.1:" + std::to_string(port), target, [&](bb::error_code e) {
            done = true;
            result = e;
        });
        if (!run_until(io, done, timeout, socket())) return 0;
        if (!result) return 101;
        refusal_body = response.body();
        return response.result_int() == 101 ? 0 : static_cast<int>(response.result_int());
    }
};

WsClient::WsClient() : impl_(std::make_unique<Impl>()) {}
WsClient::~WsClient() = default;

int WsClient::connect(std::uint16_t port, std::string target, const Headers& headers,
                      std::chrono::milliseconds timeout) {
    impl_->plain = std::make_unique<websocket::stream<bb::tcp_stream>>(impl_->io);
    if (!impl_->tcp_connect(port, timeout)) return 0;
    return impl_->upgrade(*impl_->plain, port, target, headers, timeout);
}

int WsClient::connect_tls(std::uint16_t port, const std::string& ca_file, std::string target,
                          std::chrono::milliseconds timeout) {
    auto& context = impl_->tls_context.emplace(ssl::context::tls_client);
    context.load_verify_file(ca_file);
    context.set_verify_mode(ssl::verify_peer);
    impl_->tls = std::make_unique<websocket::stream<bb::ssl_stream<bb::tcp_stream>>>(impl_->io, context);
    impl_->tls->next_layer().set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    if (!impl_->tcp_connect(port, timeout)) return 0;
    bool done = false;
    bb::error_code result;
    impl_->tls->next_layer().async_handshake(ssl::stream_base::client, [&](bb::error_code e) {
        done = true;
        result = e;
    });
    if (!run_until(impl_->io, done, timeout, impl_->socket()) || result) return 0;
    return impl_->upgrade(*impl_->tls, port, target, {}, timeout);
}

const std::string& WsClient::refusal_body() const noexcept {
    return impl_->refusal_body;
}

void WsClient::small_receive_buffer() {
    impl_->small_buffer = true;
}

void WsClient::bind_to(std::string loopback_address) {
    impl_->local_address = std::move(loopback_address);
}

namespace {
template <class Ws>
bool write(net::io_context& io, Ws& ws, std::string_view data, bool text, std::chrono::milliseconds timeout) {
    ws.text(text);
    bool done = false;
    bb::error_code result;
    ws.async_write(net::buffer(data.data(), data.size()), [&](bb::error_code e, std::size_t) {
        done = true;
        result = e;
    });
    return run_until(io, done, timeout, bb::get_lowest_layer(ws).socket()) && !result;
}
}  // namespace

bool WsClient::send(std::string_view text, std::chrono::milliseconds timeout) {
    return impl_->with([&](auto& ws) { return write(impl_->io, ws, text, true, timeout); });
}

bool WsClient::send_binary(std::string_view data, std::chrono::milliseconds timeout) {
    return impl_->with([&](auto& ws) { return write(impl_->io, ws, data, false, timeout); });
}

std::optional<std::string> WsClient::receive_text(std::chrono::milliseconds timeout) {
    if (impl_->broken) return std::nullopt;
    return impl_->with([&](auto& ws) -> std::optional<std::string> {
        impl_->buffer.clear();
        bool done = false;
        bb::error_code result;
        ws.async_read(impl_->buffer, [&](bb::error_code e, std::size_t) {
            done = true;
            result = e;
        });
        if (!run_until(impl_->io, done, timeout, impl_->socket()) || result) {
            impl_->broken = true;
            impl_->closed_cleanly = result == websocket::error::closed;
            return std::nullopt;
        }
        return bb::buffers_to_string(impl_->buffer.data());
    });
}

std::optional<nlohmann::json> WsClient::receive(std::chrono::milliseconds timeout) {
    auto text = receive_text(timeout);
    if (!text) return std::nullopt;
    return nlohmann::json::parse(*text);
}

std::optional<nlohmann::json> WsClient::receive_type(std::string_view type, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left <= 0ms) return std::nullopt;
        auto message = receive(left);
        if (!message || message->value("type", "") == type) return message;
    }
}

int WsClient::wait_closed(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!impl_->broken) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left <= 0ms) break;
        (void)receive_text(left);
    }
    return close_code();
}

bool WsClient::closed_cleanly() const {
    return impl_->closed_cleanly;
}

int WsClient::close_code() const {
    return impl_->with([](auto& ws) { return static_cast<int>(ws.reason().code); });
}

std::string WsClient::close_reason() const {
    return impl_->with([](auto& ws) { return std::string(ws.reason().reason.c_str()); });
}

bool WsClient::close(std::chrono::milliseconds timeout) {
    if (impl_->broken) return false;
    bool clean = impl_->with([&](auto& ws) {
        bool done = false;
        bb::error_code result;
        ws.async_close(websocket::close_code::normal, [&](bb::error_code e) {
            result = e;
            done = true;
        });
        return run_until(impl_->io, done, timeout, impl_->socket()) && !result;
    });
    impl_->broken = true;
    return clean;
}

std::optional<nlohmann::json> WsClient::login(std::uint16_t port, std::string target, const Headers& headers) {
    if (connect(port, std::move(target), headers) != 101) return std::nullopt;
    auto message = receive();
    if (message && message->value("type", "") == "login") id_ = message->at("userId").get<std::uint64_t>();
    return message;
}

HttpResult http_request(std::uint16_t port, std::string_view method, std::string_view target, const Headers& headers,
                        std::chrono::milliseconds timeout, std::string_view body) {
    net::io_context io;
    tcp::socket socket(io);
    HttpResult out;
    std::string request =
        std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    for (const auto& [name, value] : headers)
        request += name + ": " + value + "\r\n";
    if (!body.empty()) request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    request += "\r\n";
    request += body;
    bb::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (method == "HEAD") parser.skip(true);
    bool done = false;
    socket.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [&](bb::error_code ec) {
        if (ec) {
            done = true;
            return;
        }
        net::async_write(socket, net::buffer(request), [&](bb::error_code ec2, std::size_t) {
            if (ec2) {
                done = true;
                return;
            }
            http::async_read(socket, buffer, parser, [&](bb::error_code ec3, std::size_t) {
                done = true;
                if (ec3) return;
                auto& response = parser.get();
                out.status = static_cast<int>(response.result_int());
                out.content_type = std::string(response[http::field::content_type]);
                out.content_length = std::string(response[http::field::content_length]);
                out.body = response.body();
            });
        });
    });
    run_until(io, done, timeout, socket);
    return out;
}

namespace {

/**
 * TLS under the kit's raw client, with OpenSSL itself on the client's
 * socket: the raw client then speaks wss, and the TLS holder below can stop
 * half-way through a close. Trusts one CA file, for 127.0.0.1.
 */
class TlsByteStream : public switchboard::testing::detail::ByteStream {
public:
    explicit TlsByteStream(const std::string& ca_file) : context_(SSL_CTX_new(TLS_client_method())) {
        if (context_ && SSL_CTX_load_verify_locations(context_, ca_file.c_str(), nullptr) == 1) {
            SSL_CTX_set_verify(context_, SSL_VERIFY_PEER, nullptr);
            ssl_ = SSL_new(context_);
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), "127.0.0.1");
        }
    }
    ~TlsByteStream() override {
        SSL_free(ssl_);
        SSL_CTX_free(context_);
    }

    bool start(int fd, std::chrono::milliseconds timeout, std::string& error) override {
        if (!ssl_) return fail(error, "cannot load the CA file");
        SSL_set_fd(ssl_, fd);
        auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            int r = SSL_connect(ssl_);
            if (r == 1) return true;
            short wait = 0;
            if (!wants(r, wait)) return fail(error, "TLS handshake failed");
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            pollfd p{fd, wait, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1)
                return fail(error, "TLS handshake timed out");
        }
    }

    long write_some(int, const char* data, std::size_t size, short& wait, std::string& error) override {
        std::size_t written = 0;
        int r = SSL_write_ex(ssl_, data, size, &written);
        if (r == 1) return static_cast<long>(written);
        return wants(r, wait) ? -1 : (fail(error, "TLS write failed"), -2);
    }

    long read_some(int, char* data, std::size_t size, short& wait, std::string& error) override {
        std::size_t got = 0;
        int r = SSL_read_ex(ssl_, data, size, &got);
        if (r == 1) return static_cast<long>(got);
        if (SSL_get_error(ssl_, r) == SSL_ERROR_ZERO_RETURN) {
            close_notify_ = true;  // the server ended its TLS session cleanly
            return 0;
        }
        return wants(r, wait) ? -1 : (fail(error, "TLS read failed (no close_notify)"), -2);
    }

    /** The server's close_notify came. */
    bool close_notify() const noexcept { return close_notify_; }

private:
    bool wants(int result, short& wait) {
        switch (SSL_get_error(ssl_, result)) {
            case SSL_ERROR_WANT_READ:
                wait = POLLIN;
                return true;
            case SSL_ERROR_WANT_WRITE:
                wait = POLLOUT;
                return true;
            default:
                return false;
        }
    }
    static bool fail(std::string& error, const char* what) {
        error = what;
        ERR_clear_error();
        return false;
    }

    SSL_CTX* context_;
    SSL* ssl_ = nullptr;
    bool close_notify_ = false;
};

}  // namespace

// The plain raw client is the conformance kit's (src/testing/raw_client.hpp): one
// implementation of a client that writes raw bytes, for the kit and for these tests.
struct RawClient::Impl {
    switchboard::testing::detail::RawClient raw;
};

RawClient::RawClient() : impl_(std::make_unique<Impl>()) {}
RawClient::~RawClient() = default;

bool RawClient::upgrade_with(std::uint16_t port, std::string_view target, std::string_view early) {
    using switchboard::testing::detail::RawClient;
    return impl_->raw.connect(port, 0, 5s) &&
           impl_->raw.request(RawClient::upgrade_request(target) + std::string(early), 5s) == 101;
}

bool RawClient::write(std::string_view bytes) {
    return impl_->raw.write(bytes, 5s);
}

bool RawClient::connect_from(const std::string& local, std::uint16_t port) {
    return impl_->raw.connect(port, 0, 5s, local);
}

bool RawClient::wait_hangup() {
    return impl_->raw.wait_closed(5s);
}

std::optional<std::string> RawClient::next_text() {
    while (auto frame = impl_->raw.next_frame(5s)) {
        if (frame->opcode == 0x1) return std::move(frame->payload);
        if (frame->opcode == 0x8) break;
    }
    return std::nullopt;
}

std::string RawClient::text_frame(std::string_view text) {
    return switchboard::testing::detail::RawClient::frame(0x1, text);
}

struct TlsCloseHolder::Impl {
    TlsByteStream* tls = nullptr;  // owned by raw
    std::unique_ptr<switchboard::testing::detail::RawClient> raw;
};

TlsCloseHolder::TlsCloseHolder() : impl_(std::make_unique<Impl>()) {}
TlsCloseHolder::~TlsCloseHolder() = default;

bool TlsCloseHolder::connect(std::uint16_t port, const std::string& ca_file, std::chrono::milliseconds timeout) {
    using switchboard::testing::detail::RawClient;
    auto tls = std::make_unique<TlsByteStream>(ca_file);
    impl_->tls = tls.get();
    impl_->raw = std::make_unique<RawClient>(std::move(tls));
    return impl_->raw->connect(port, 0, timeout) &&
           impl_->raw->request(RawClient::upgrade_request("/"), timeout) == 101;
}

int TlsCloseHolder::close_websocket() {
    namespace kit = switchboard::testing::detail;
    if (!impl_->raw->write(kit::RawClient::frame(kit::opcode::close, kit::close_payload(1000)), 5s)) return 0;
    while (auto frame = impl_->raw->next_frame(5s))  // `login` first
        if (frame->opcode == kit::opcode::close) return kit::parse_close(frame->payload).code;
    return 0;
}

bool TlsCloseHolder::wait_close_notify(std::chrono::milliseconds timeout) {
    return impl_->raw->wait_closed(timeout) && impl_->tls->close_notify();
}

bool TlsCloseHolder::wait_tcp_closed(std::chrono::milliseconds timeout) {
    // Under TLS: the socket itself, which the server closes after its close_notify.
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char chunk[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{impl_->raw->fd(), POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) return false;
        auto n = ::recv(impl_->raw->fd(), chunk, sizeof chunk, 0);
        if (n == 0) return true;
        if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    }
}

std::optional<TlsFiles> make_self_signed_cert() {
    std::random_device random;
    auto dir = std::filesystem::temp_directory_path() / ("switchboard-tls-" + std::to_string(random()));
    std::filesystem::create_directories(dir);
    TlsFiles files{(dir / "cert.pem").string(), (dir / "key.pem").string()};
    std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout '" +
        files.key + "' -out '" + files.cert + "' >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0) return std::nullopt;
    return files;
}

}  // namespace switchboard::test

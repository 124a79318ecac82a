// switchboard-relay-baseline: the transport alone. A Boost.Beast WebSocket
// server with no JSON and no hub: it pairs connections by request path (the
// first and second to arrive on a path, then the third and fourth...) and
// forwards every frame as is to the partner. So the load generator can run
// against it, each connection first gets a login-shaped text:
//   {"type":"login","userId":N,"users":[PARTNER]}   (users empty for the first of a pair)
// built by string concatenation, not JSON.
//
// It exists only to measure what Beast and the kernel cost on this machine;
// every server figure in bench/README.md is also given as a ratio to it.
//
//   switchboard-relay-baseline [--port N] [--threads N]
//   -> prints "listening on ws://127.0.0.1:PORT/" and serves until SIGINT/SIGTERM
#include <atomic>
#include <charconv>
#include <cstdint>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

class Session;

/** Who waits for a partner on which path. */
struct Pairing {
    std::mutex mutex;
    std::map<std::string, std::weak_ptr<Session>> waiting;
    std::atomic<std::uint64_t> next_id{1};
};

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket socket, Pairing& pairing) : ws_(std::move(socket)), pairing_(pairing) {}

    void start() {
        beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
        http::async_read(ws_.next_layer(), buffer_, request_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_request(ec); });
    }

    /** Queue a text for this client; any thread. */
    void send(std::shared_ptr<const std::string> text) {
        net::post(ws_.get_executor(), [self = shared_from_this(), text = std::move(text)]() mutable {
            self->queue_.push_back(std::move(text));
            if (self->queue_.size() == 1) self->write_next();
        });
    }

private:
    void on_request(beast::error_code ec) {
        if (ec || !websocket::is_upgrade(request_)) return;
        beast::get_lowest_layer(ws_).expires_never();
        beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ec);
        ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
        ws_.read_message_max(64 * 1024);
        ws_.auto_fragment(false);
        path_ = std::string(request_.target());
        ws_.async_accept(request_, [self = shared_from_this()](beast::error_code ec) {
            if (!ec) self->on_accept();
        });
    }

    void on_accept() {
        ws_.text(true);
        id_ = pairing_.next_id.fetch_add(1);
        std::shared_ptr<Session> partner;
        {
            std::lock_guard lock(pairing_.mutex);
            auto it = pairing_.waiting.find(path_);
            if (it != pairing_.waiting.end() && (partner = it->second.lock())) {
                pairing_.waiting.erase(it);
            } else {
                pairing_.waiting[path_] = weak_from_this();
            }
        }
        std::string login = R"({"type":"login","userId":)" + std::to_string(id_) + R"(,"users":[)";
        if (partner) {
            login += std::to_string(partner->id_);
            partner_ = partner;
            partner->set_partner(weak_from_this());
        }
        login += "]}";
        queue_.push_back(std::make_shared<const std::string>(std::move(login)));
        write_next();
        read();
    }

    void set_partner(std::weak_ptr<Session> partner) {
        net::post(ws_.get_executor(),
                  [self = shared_from_this(), partner = std::move(partner)] { self->partner_ = partner; });
    }

    void read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->on_closed();
            auto data = self->buffer_.data();
            auto text = std::make_shared<const std::string>(static_cast<const char*>(data.data()), data.size());
            self->buffer_.consume(self->buffer_.size());
            if (auto partner = self->partner_.lock()) partner->send(std::move(text));
            self->read();
        });
    }

    void write_next() {
        ws_.async_write(net::buffer(*queue_.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) {
                self->queue_.clear();
                return;
            }
            self->queue_.pop_front();
            if (!self->queue_.empty()) self->write_next();
        });
    }

    void on_closed() {
        std::lock_guard lock(pairing_.mutex);
        auto it = pairing_.waiting.find(path_);
        if (it != pairing_.waiting.end() && it->second.lock().get() == this) pairing_.waiting.erase(it);
    }

    websocket::stream<beast::tcp_stream> ws_;
    Pairing& pairing_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    std::string path_;
    std::uint64_t id_ = 0;
    std::weak_ptr<Session> partner_;
    std::deque<std::shared_ptr<const std::string>> queue_;
};

class Listener : public std::enable_shared_from_this<Listener> {
public:
    Listener(net::io_context& ioc, tcp::acceptor acceptor, Pairing& pairing)
        : ioc_(ioc), acceptor_(std::move(acceptor)), pairing_(pairing) {}

    void accept() {
        acceptor_.async_accept(net::make_strand(ioc_),
                               [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                                   if (!ec) std::make_shared<Session>(std::move(socket), self->pairing_)->start();
                                   if (ec != net::error::operation_aborted) self->accept();
                               });
    }

private:
    net::io_context& ioc_;
    tcp::acceptor acceptor_;
    Pairing& pairing_;
};

}  // namespace

int main(int argc, char** argv) {
    unsigned short port = 0;
    int threads = 1;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if ((arg == "--port" || arg == "--threads") && i + 1 < argc) {
            int v = 0;
            std::string_view s = argv[++i];
            if (std::from_chars(s.data(), s.data() + s.size(), v).ec != std::errc() || v < 0 || v > 65535) {
                std::cerr << "switchboard-relay-baseline: bad value for " << arg << "\n";
                return 2;
            }
            if (arg == "--port")
                port = static_cast<unsigned short>(v);
            else
                threads = std::max(1, std::min(v, 64));
        } else {
            std::cerr << "usage: switchboard-relay-baseline [--port N] [--threads N]  (listens on 127.0.0.1)\n";
            return arg == "--help" ? 0 : 2;
        }
    }
    net::io_context ioc(threads);
    tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    tcp::acceptor acceptor(ioc);
    beast::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        std::cerr << "switchboard-relay-baseline: cannot listen on 127.0.0.1:" << port << ": " << ec.message() << "\n";
        return 1;
    }
    std::cout << "listening on ws://127.0.0.1:" << acceptor.local_endpoint().port() << "/" << std::endl;
    Pairing pairing;
    std::make_shared<Listener>(ioc, std::move(acceptor), pairing)->accept();
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&ioc](beast::error_code, int) { ioc.stop(); });
    std::vector<std::thread> extra;
    for (int i = 1; i < threads; ++i)
        extra.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : extra)
        t.join();
    return 0;
}

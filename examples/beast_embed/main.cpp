// An existing Boost.Beast HTTP server that gains WebRTC signalling: it keeps
// its own acceptor, threads and routes (GET /hello), and hands every
// WebSocket upgrade to switchboard::beast::Adapter.
//
//   switchboard-beast-embed --port 0
//   listening on ws://127.0.0.1:PORT/
#include <csignal>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include <switchboard/beast.hpp>

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

// The application's own HTTP session: one request at a time.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
public:
    HttpSession(tcp::socket socket, switchboard::beast::Adapter& adapter)
        : stream_(std::move(socket)), adapter_(adapter) {}

    void read() {
        request_ = {};
        stream_.expires_after(std::chrono::seconds(30));
        http::async_read(stream_, buffer_, request_, [self = shared_from_this()](auto ec, std::size_t) {
            if (!ec) self->dispatch();
        });
    }

private:
    void dispatch() {
        // The one line that adds signalling: upgrades go to Switchboard.
        if (boost::beast::websocket::is_upgrade(request_)) {
            stream_.expires_never();
            // Whatever the read took past the request goes along: frames of a client that did not wait.
            return adapter_.serve(stream_.release_socket(), std::move(request_),
                                  boost::beast::buffers_to_string(buffer_.data()));
        }

        response_ = {request_.target() == "/hello" ? http::status::ok : http::status::not_found, request_.version()};
        response_.set(http::field::content_type, "text/plain");
        response_.body() = request_.target() == "/hello" ? "hello from the host application\n" : "not found\n";
        response_.keep_alive(request_.keep_alive());
        response_.prepare_payload();
        http::async_write(stream_, response_, [self = shared_from_this()](auto ec, std::size_t) {
            if (!ec && self->response_.keep_alive()) self->read();
        });
    }

    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    http::response<http::string_body> response_;
    switchboard::beast::Adapter& adapter_;
};

int main(int argc, char** argv) {
    unsigned short port = 8080;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string(argv[i]) == "--port") port = static_cast<unsigned short>(std::atoi(argv[++i]));

    switchboard::Hub hub;  // outlives the io_context below
    net::io_context io;
    switchboard::beast::Adapter adapter(hub);
    tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), port});

    std::function<void()> accept = [&] {
        acceptor.async_accept(net::make_strand(io), [&](boost::system::error_code ec, tcp::socket socket) {
            if (!acceptor.is_open()) return;
            if (!ec) std::make_shared<HttpSession>(std::move(socket), adapter)->read();
            accept();
        });
    };
    accept();

    net::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) {
        acceptor.close();
        adapter.close_all();  // 1001 to every client; io.run() returns once they are gone
    });

    std::cout << "listening on ws://127.0.0.1:" << acceptor.local_endpoint().port() << "/" << std::endl;
    std::thread second([&] { io.run(); });
    io.run();
    second.join();
}

#include "client.hpp"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

namespace switchboard::testing::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct Loop::Impl {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    std::promise<void> finished;
    std::thread thread;
    std::mutex mutex;
    std::vector<std::weak_ptr<Client::Impl>> clients;
};

struct Client::Impl : std::enable_shared_from_this<Impl> {
    Impl(Loop::Impl& loop, std::uint16_t port, ConnectOptions options)
        : loop(loop), ws(loop.io), port(port), options(std::move(options)) {}

    Loop::Impl& loop;
    websocket::stream<beast::tcp_stream> ws;
    const std::uint16_t port;
    const ConnectOptions options;
    websocket::response_type response;
    beast::flat_buffer buffer;

    // Loop thread only.
    std::deque<std::pair<std::string, bool>> writes;  // payload, binary
    bool writing = false;
    bool close_wanted = false;
    bool upgraded = false;
    bool done = false;

    // Shared with the callers' threads.
    mutable std::mutex mutex;
    std::condition_variable changed;
    std::optional<Upgrade> upgrade;
    std::deque<Event> events;
    std::size_t unsent = 0;

    void start() {
        auto& socket = beast::get_lowest_layer(ws).socket();
        boost::system::error_code ec;
        socket.open(tcp::v4(), ec);
        if (!ec && options.receive_buffer > 0)
            socket.set_option(asio::socket_base::receive_buffer_size(options.receive_buffer), ec);
        if (ec) return refused({false, 0, {}, "cannot open a socket: " + ec.message()});
        beast::get_lowest_layer(ws).expires_after(options.handshake_timeout);
        beast::get_lowest_layer(ws).async_connect(
            tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port),
            [self = shared_from_this()](beast::error_code ec) { self->on_connect(ec); });
    }

    void on_connect(beast::error_code ec) {
        if (ec) return refused({false, 0, {}, "cannot connect: " + ec.message()});
        beast::get_lowest_layer(ws).expires_never();
        websocket::stream_base::timeout timeouts{options.handshake_timeout, websocket::stream_base::none(), false};
        ws.set_option(timeouts);
        ws.set_option(websocket::stream_base::decorator([headers = options.headers](websocket::request_type& request) {
            for (auto& [name, value] : headers)
                request.set(name, value);
        }));
        ws.read_message_max(0);  // the kit must see whatever the server sends
        ws.async_handshake(response, "127.0.0.1:" + std::to_string(port), options.target,
                           [self = shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
    }

    void on_handshake(beast::error_code ec) {
        if (ec) {
            int status = response.result_int();
            if (status != 0 && status != 101) return refused({false, status, response.body(), ec.message()});
            return refused({false, 0, {}, "upgrade failed: " + ec.message()});
        }
        upgraded = true;
        {
            std::lock_guard lock(mutex);
            upgrade = Upgrade{true, 101, {}, {}};
        }
        changed.notify_all();
        read();
        write_next();
    }

    void refused(Upgrade outcome) {
        done = true;
        boost::system::error_code ignored;
        beast::get_lowest_layer(ws).socket().close(ignored);
        {
            std::lock_guard lock(mutex);
            upgrade = std::move(outcome);
        }
        changed.notify_all();
    }

    void read() {
        ws.async_read(buffer, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        Event event;
        if (ec) {
            done = true;
            event.kind = Event::Kind::closed;
            // A close frame counts even when the TCP teardown after it failed
            // (a server that stops reading may reset the connection).
            if (ec == websocket::error::closed || ws.reason().code != websocket::close_code::none) {
                event.close_code = ws.reason().code;
                event.data = std::string(ws.reason().reason.c_str());
            } else {
                event.data = ec.message();
            }
        } else {
            event.kind = ws.got_text() ? Event::Kind::text : Event::Kind::binary;
            event.data = beast::buffers_to_string(buffer.data());
            buffer.consume(buffer.size());
        }
        push(std::move(event));
        if (!ec && options.keep_reading) read();
    }

    void push(Event event) {
        {
            std::lock_guard lock(mutex);
            events.push_back(std::move(event));
        }
        changed.notify_all();
    }

    void write_next() {
        if (writing || !upgraded || done) return;
        if (writes.empty()) {
            if (close_wanted) {
                close_wanted = false;
                ws.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {});
            }
            return;
        }
        writing = true;
        ws.binary(writes.front().second);
        ws.async_write(asio::buffer(writes.front().first),
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                           self->writing = false;
                           self->writes.pop_front();
                           {
                               std::lock_guard lock(self->mutex);
                               --self->unsent;
                           }
                           if (ec) {
                               self->done = true;
                               return;
                           }
                           self->write_next();
                       });
    }

    void enqueue(std::string data, bool binary) {
        {
            std::lock_guard lock(mutex);
            ++unsent;
        }
        asio::post(loop.io, [self = shared_from_this(), data = std::move(data), binary]() mutable {
            self->writes.emplace_back(std::move(data), binary);
            self->write_next();
        });
    }

    void abort() {
        done = true;
        boost::system::error_code ignored;
        beast::get_lowest_layer(ws).socket().close(ignored);
    }
};

Client::Client(Loop& loop, std::uint16_t port, ConnectOptions options)
    : impl_(std::make_shared<Impl>(*loop.impl, port, std::move(options))) {
    {
        std::lock_guard lock(loop.impl->mutex);
        loop.impl->clients.push_back(impl_);
    }
    asio::post(loop.impl->io, [impl = impl_] { impl->start(); });
}

Client::~Client() = default;

Upgrade Client::wait_upgrade(std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->mutex);
    if (!impl_->changed.wait_for(lock, timeout, [&] { return impl_->upgrade.has_value(); }))
        return {false, 0, {}, "no answer to the upgrade request within " + std::to_string(timeout.count()) + " ms"};
    return *impl_->upgrade;
}

void Client::send_text(std::string text) {
    impl_->enqueue(std::move(text), false);
}
void Client::send_binary(std::string data) {
    impl_->enqueue(std::move(data), true);
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
    asio::post(impl_->loop.io, [impl = impl_] {
        impl->close_wanted = true;
        impl->write_next();
    });
}

void Client::abort() {
    asio::post(impl_->loop.io, [impl = impl_] { impl->abort(); });
}

Loop::Loop() : impl(std::make_unique<Impl>()) {
    impl->thread = std::thread([i = impl.get()] {
        i->io.run();
        i->finished.set_value();
    });
}

Loop::~Loop() {
    std::vector<std::shared_ptr<Client::Impl>> clients;
    {
        std::lock_guard lock(impl->mutex);
        for (auto& weak : impl->clients)
            if (auto c = weak.lock()) clients.push_back(std::move(c));
    }
    for (auto& c : clients)
        asio::post(impl->io, [c] { c->abort(); });
    clients.clear();
    impl->work.reset();
    // Aborted operations finish at once; the bound only guards against a bug here.
    if (impl->finished.get_future().wait_for(std::chrono::seconds(5)) != std::future_status::ready) impl->io.stop();
    impl->thread.join();
}

bool port_accepts(std::uint16_t port, std::chrono::milliseconds timeout) {
    asio::io_context io;
    tcp::socket socket(io);
    bool connected = false;
    socket.async_connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port),
                         [&](boost::system::error_code ec) { connected = !ec; });
    io.run_for(timeout);
    return connected;
}

}  // namespace switchboard::testing::detail

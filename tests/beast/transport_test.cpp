// What only the Beast adapter does, over real sockets with short timeouts:
// early frames, batching order, stop during the handshake, TLS, listen
// errors and the embedding API. What every adapter must do is checked by
// the conformance kit against this adapter (tests/kit).
#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http/read.hpp>

#include "catch.hpp"
#include "support/client.hpp"
#include "support/test_server.hpp"

using namespace switchboard;
using namespace switchboard::test;
using nlohmann::json;

namespace {

/** Polls `condition` until it holds or `timeout` passes: for effects that trail what a client sees. */
template <class F>
bool eventually(F condition, std::chrono::milliseconds timeout = 3s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

std::string candidate_to(std::uint64_t to, std::size_t padding) {
    return json({{"type", "peer-candidate"}, {"to", to}, {"candidate", {{"candidate", std::string(padding, 'c')}}}})
        .dump();
}

/**
 * The caller's own acceptor and io_context, run by `threads` threads, as a
 * host application embedding the Adapter has them: every accepted socket
 * goes to `on_socket` (on an io thread). stop() closes the acceptor and
 * waits for the io_context to run out of work.
 */
class HostAcceptor {
public:
    using OnSocket = std::function<void(boost::asio::ip::tcp::socket)>;
    HostAcceptor(OnSocket on_socket, int threads) : on_socket_(std::move(on_socket)) {
        accept();
        for (int i = 0; i < threads; ++i)
            threads_.emplace_back([this] { io_.run(); });
    }
    ~HostAcceptor() { stop(); }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    void stop() {
        boost::asio::post(io_, [this] { acceptor_.close(); });
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }

private:
    void accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket socket) {
            if (ec) return;
            on_socket_(std::move(socket));
            accept();
        });
    }
    OnSocket on_socket_;
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_{io_, {boost::asio::ip::make_address("127.0.0.1"), 0}};
    std::vector<std::thread> threads_;
};

/**
 * A client that does not wait for the 101 joins `room` at `port`: its upgrade
 * request, one whole candidate for `to` and the first bytes of a second go
 * out in one write, the rest of the second after the 101. Returns its login.
 */
std::optional<json> join_without_waiting(RawClient& client, std::uint16_t port, const std::string& room,
                                         std::uint64_t to) {
    auto first = RawClient::text_frame(candidate_to(to, 1));
    auto second = RawClient::text_frame(candidate_to(to, 2));
    if (!client.upgrade_with(port, "/room/" + room, first + second.substr(0, 5))) return std::nullopt;
    auto login = client.next_text();
    if (!login || !client.write(second.substr(5))) return std::nullopt;
    return json::parse(*login);
}

/** `a` receives the two candidates of join_without_waiting, in order, from `from`. */
void check_early_candidates(WsClient& a, const json& from) {
    REQUIRE(a.receive_type("user-joined"));
    for (std::size_t padding : {1, 2}) {
        auto got = a.receive();
        REQUIRE(got);
        CHECK((*got)["type"] == "peer-candidate");
        CHECK((*got)["from"] == from);
        CHECK((*got)["candidate"]["candidate"].get<std::string>().size() == padding);
    }
}

}  // namespace

TEST_CASE("frames a client sends before the 101 are read and not lost", "[beast]") {
    TestServer server;
    WsClient a;
    REQUIRE(a.login(server.port(), "/room/early"));
    RawClient early;
    auto login = join_without_waiting(early, server.port(), "early", a.id());
    REQUIRE(login);
    REQUIRE((*login)["type"] == "login");
    check_early_candidates(a, (*login)["userId"]);
}

TEST_CASE("bursts from several senders reach one client whole and in order, in batches of any size", "[beast]") {
    // Frames from 2 bytes of padding to 100 KB, so batches mix sizes and
    // large ones take several partial sends.
    Options options;
    options.limits.max_message_bytes = 256 * 1024;
    options.limits.rate_per_second = 0;
    TestServer server(options);
    // A small receive window: the server's sends stop part-way through batches.
    auto receiver = std::make_unique<WsClient>();
    receiver->small_receive_buffer();
    REQUIRE(receiver->login(server.port()));
    constexpr int senders = 3, per_sender = 200;
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int s = 0; s < senders; ++s)
        clients.push_back(join(server.port()));
    const auto to = receiver->id();
    auto padding = [](int i) { return i % 25 == 0 ? std::size_t{100 * 1024} : std::size_t(2 + (i * 37) % 3000); };
    std::vector<std::thread> threads;
    std::atomic<int> send_failures{0};
    for (int s = 0; s < senders; ++s)
        threads.emplace_back([&, s] {
            for (int i = 0; i < per_sender; ++i) {
                auto message = json({{"type", "peer-candidate"},
                                     {"to", to},
                                     {"seq", i},
                                     {"candidate", {{"candidate", std::string(padding(i), 'p')}}}});
                if (!clients[s]->send(message.dump())) ++send_failures;
            }
        });
    std::map<std::uint64_t, int> next;  // sender id -> next seq expected
    int received = 0, out_of_order = 0, damaged = 0;
    while (received < senders * per_sender) {
        auto message = receiver->receive_type("peer-candidate");
        if (!message) break;
        auto from = (*message)["from"].get<std::uint64_t>();
        int seq = (*message)["seq"];
        if (seq != next[from]) ++out_of_order;
        if ((*message)["candidate"]["candidate"].get<std::string>().size() != padding(seq)) ++damaged;
        next[from] = seq + 1;
        ++received;
    }
    for (auto& t : threads)
        t.join();
    CHECK(send_failures == 0);
    CHECK(received == senders * per_sender);
    CHECK(out_of_order == 0);
    CHECK(damaged == 0);
    CHECK(next.size() == senders);
}

TEST_CASE("stop() while clients are mid-handshake: no write overlaps the handshake, run() returns", "[beast]") {
    // A close asked for while the 101 response is still being written must
    // wait for it: Beast allows one write at a time on a stream.
    Options no_resume;  // the clients hang up without a close frame; they need not wait to resume
    no_resume.resume_window = std::chrono::milliseconds(0);
    for (int round = 0; round < 10; ++round) {
        TestServer server(no_resume);
        std::atomic<bool> done{false};
        std::atomic<int> upgraded{0};
        std::vector<std::thread> clients;
        for (int t = 0; t < 4; ++t)
            clients.emplace_back([&] {
                for (int i = 0; i < 200 && !done; ++i) {
                    WsClient client;
                    if (client.connect(server.port(), "/", {}, 1s) == 101) ++upgraded;
                }
            });
        CHECK(eventually([&] { return upgraded.load() >= 4; }));
        server.stop();
        done = true;
        for (auto& c : clients)
            c.join();
        CHECK(server.hub.counters().connections_open == 0);
    }
}

TEST_CASE("TLS: wss with a certificate and key file", "[beast][tls]") {
    auto files = make_self_signed_cert();
    REQUIRE(files);
    auto server_options = TestServer::default_server_options();
    server_options.tls_cert_file = files->cert;
    server_options.tls_key_file = files->key;
    TestServer server({}, server_options);
    CHECK(server.server->tls());
    CHECK(server.server->url().rfind("wss://127.0.0.1:", 0) == 0);

    WsClient a, b;
    REQUIRE(a.connect_tls(server.port(), files->cert) == 101);
    auto login_a = a.receive();
    REQUIRE(login_a);
    REQUIRE(b.connect_tls(server.port(), files->cert) == 101);
    auto login_b = b.receive();
    REQUIRE(login_b);
    auto b_id = (*login_b)["userId"].get<std::uint64_t>();
    REQUIRE(a.send(candidate_to(b_id, 10)));
    auto got = b.receive();
    REQUIRE(got);
    CHECK((*got)["from"] == (*login_a)["userId"]);

    // Our close handshake ends with the server's close_notify: no truncated stream.
    CHECK(a.close());
    CHECK(eventually([&] { return server.hub.counters().connections_open == 1; }));
    // A client that answers the close frame but never ends TLS leaves the hub at once, gets the
    // server's close_notify, and is hung up on after close_timeout.
    TlsCloseHolder holder;
    REQUIRE(holder.connect(server.port(), files->cert));
    CHECK(eventually([&] { return server.hub.counters().connections_open == 2; }));
    CHECK(holder.close_websocket() == close_code::normal);
    CHECK(holder.wait_close_notify());
    CHECK(server.hub.counters().connections_open == 1);  // left before the TLS shutdown began
    CHECK(holder.wait_tcp_closed());

    // A plain client cannot talk to a TLS server.
    WsClient plain;
    CHECK(plain.connect(server.port(), "/", {}, 1s) != 101);

    // A close the server starts ends the same way once b answers it.
    server.server->adapter().close_all(close_code::going_away);
    CHECK(b.wait_closed() == close_code::going_away);
    CHECK(b.closed_cleanly());

    beast::ServerOptions broken = TestServer::default_server_options();
    broken.tls_cert_file = files->cert;
    broken.tls_key_file = files->cert + ".missing";
    Hub hub;
    beast::Server bad(hub, broken);
    auto error = bad.listen();
    REQUIRE(error);
    CHECK(error->code == "tls");
}

TEST_CASE("listen() reports a port in use as an error value", "[beast]") {
    TestServer server;
    Hub hub;
    auto options = TestServer::default_server_options();
    options.port = server.port();
    beast::Server second(hub, options);
    auto error = second.listen();
    REQUIRE(error);
    CHECK(error->code == "listen");
}

TEST_CASE("Adapter::serve with the request read by the host passes on what the host read past it", "[beast]") {
    namespace http = boost::beast::http;
    Hub hub;
    beast::Adapter adapter(hub, fast_transport());
    // The host's own HTTP read, as in examples/beast_embed: its buffer may hold frames after the request.
    HostAcceptor host(
        [&](boost::asio::ip::tcp::socket socket) {
            auto stream = std::make_shared<boost::beast::tcp_stream>(std::move(socket));
            auto buffer = std::make_shared<boost::beast::flat_buffer>();
            auto request = std::make_shared<beast::HttpRequest>();
            http::async_read(*stream, *buffer, *request, [&, stream, buffer, request](auto error, std::size_t) {
                if (error) return;
                adapter.serve(stream->release_socket(), std::move(*request),
                              boost::beast::buffers_to_string(buffer->data()));
            });
        },
        1);
    auto port = host.port();

    WsClient a;
    REQUIRE(a.login(port, "/room/host"));
    RawClient early;
    auto login = join_without_waiting(early, port, "host", a.id());
    REQUIRE(login);
    check_early_candidates(a, (*login)["userId"]);

    adapter.close_all();
    CHECK(a.wait_closed() == 1001);
    host.stop();  // the early client never answers the close: its close timer ends it
    CHECK(hub.counters().connections_open == 0);
}

TEST_CASE("Adapter embedded in the caller's own acceptor and io_context", "[beast]") {
    Hub hub;
    beast::Adapter adapter(hub, fast_transport());
    HostAcceptor host([&](boost::asio::ip::tcp::socket socket) { adapter.serve(std::move(socket)); }, 2);
    auto port = host.port();

    auto a = join(port, "/room/embedded");
    auto b = join(port, "/room/embedded");
    REQUIRE(a->receive_type("user-joined"));
    REQUIRE(b->send(candidate_to(a->id(), 10)));
    auto got = a->receive();
    REQUIRE(got);
    CHECK((*got)["from"] == b->id());
    CHECK(adapter.connection_count() == 2);

    // Plain HTTP is not the adapter's business when it reads the request itself.
    CHECK(http_request(port, "GET", "/").status == 426);

    adapter.close_all();
    CHECK(a->wait_closed() == 1001);
    CHECK(b->wait_closed() == 1001);
    host.stop();
    CHECK(hub.counters().connections_open == 0);
}

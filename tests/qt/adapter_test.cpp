// What only the Qt adapter has: the hand-over of a socket the application
// accepted itself, the refusal it writes in Qt's place, and the order of
// messages sent from other threads. The adapters run on a QtLoop (their
// own QThread); the clients run on this thread, on Qt's blocking calls or a
// local event loop, every wait bounded.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include <QtWebSockets/QWebSocket>

#include <nlohmann/json.hpp>

#include "catch.hpp"
#include "qt_server.hpp"

namespace sb = switchboard;
using nlohmann::json;
using sb::test::QtLoop;
using sb::test::QtServer;

namespace {

constexpr int wait_ms = 5000;

/** Processes this thread's events until `done()` or `ms` passed; returns done(). */
bool wait_until(const std::function<bool()>& done, int ms = wait_ms) {
    QElapsedTimer timer;
    timer.start();
    while (!done() && timer.elapsed() < ms)
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 20);
    return done();
}

std::string upgrade_request(const std::string& target) {
    return "GET " + target +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

/** A masked client text frame (short payloads only). */
std::string text_frame(const std::string& payload) {
    const char mask[4] = {0x11, 0x22, 0x33, 0x44};
    std::string frame = {'\x81', static_cast<char>(0x80 | payload.size())};
    frame.append(mask, 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        frame += static_cast<char>(payload[i] ^ mask[i % 4]);
    return frame;
}

/** A raw TCP client on this thread, with Qt's blocking calls. */
struct RawClient {
    QTcpSocket socket;
    std::string received;

    explicit RawClient(quint16 port) {
        socket.connectToHost(QHostAddress(QHostAddress::LocalHost), port);
        REQUIRE(socket.waitForConnected(wait_ms));
    }
    void write(const std::string& bytes) {
        socket.write(bytes.data(), static_cast<qint64>(bytes.size()));
        REQUIRE(socket.waitForBytesWritten(wait_ms));
    }
    /** Reads until `done(received)` or the server hangs up or the wait ends. */
    bool read_until(const std::function<bool(const std::string&)>& done) {
        QElapsedTimer timer;
        timer.start();
        while (!done(received) && timer.elapsed() < wait_ms) {
            if (!socket.waitForReadyRead(100) && socket.state() != QAbstractSocket::ConnectedState) break;
            received += socket.readAll().toStdString();
        }
        received += socket.readAll().toStdString();
        return done(received);
    }
    bool hung_up() {
        if (socket.state() != QAbstractSocket::ConnectedState) return true;
        return !socket.waitForReadyRead(wait_ms) && socket.state() != QAbstractSocket::ConnectedState;
    }
};

/** The text payloads of the unfragmented server frames after the response head. */
std::vector<std::string> frames_after_head(const std::string& bytes) {
    std::vector<std::string> out;
    auto at = bytes.find("\r\n\r\n");
    if (at == std::string::npos) return out;
    at += 4;
    while (at + 2 <= bytes.size()) {
        std::size_t length = static_cast<unsigned char>(bytes[at + 1]) & 0x7f, header = 2;
        if (length == 126) {
            if (at + 4 > bytes.size()) break;
            length = (static_cast<unsigned char>(bytes[at + 2]) << 8) | static_cast<unsigned char>(bytes[at + 3]);
            header = 4;
        }
        if (at + header + length > bytes.size()) break;
        out.push_back(bytes.substr(at + header, length));
        at += header + length;
    }
    return out;
}

/**
 * An application with its own QTcpServer: it answers GET /hello itself and
 * hands every other request, once its head is in, to the adapter.
 */
struct Application {
    QTcpServer server;
    sb::qt::Adapter adapter;

    explicit Application(sb::Hub& hub) : adapter(hub) {
        REQUIRE(server.listen(QHostAddress(QHostAddress::LocalHost), 0));
        QObject::connect(&server, &QTcpServer::newConnection, &server, [this] {
            while (QTcpSocket* socket = server.nextPendingConnection())
                QObject::connect(socket, &QTcpSocket::readyRead, socket, [this, socket] { route(socket); });
        });
    }

    void route(QTcpSocket* socket) {
        const QByteArray head = socket->peek(socket->bytesAvailable());  // read nothing
        if (!head.contains("\r\n\r\n")) return;
        if (head.startsWith("GET /hello ")) {
            socket->readAll();
            socket->write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
            socket->disconnectFromHost();
            return;
        }
        socket->disconnect(socket);  // our handler off the socket
        adapter.serve(socket);
    }
};

}  // namespace

TEST_CASE("an accepted socket handed over keeps the frames sent behind the request", "[qt]") {
    sb::Hub hub;
    QtLoop loop;
    auto app = loop.run([&] { return std::make_shared<Application>(hub); });
    const quint16 port = loop.run([&] { return app->server.serverPort(); });

    {
        RawClient plain(port);
        plain.write("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        CHECK(plain.read_until([](const std::string& r) { return r.find("\r\n\r\nhello") != std::string::npos; }));
    }

    RawClient client(port);
    // The request and a first (bad) message in one write, before any 101.
    client.write(upgrade_request("/room/lobby") + text_frame("{"));
    REQUIRE(client.read_until([](const std::string& r) { return frames_after_head(r).size() >= 2; }));
    CHECK(client.received.rfind("HTTP/1.1 101", 0) == 0);
    auto frames = frames_after_head(client.received);
    CHECK(json::parse(frames[0])["type"] == "login");
    CHECK(json::parse(frames[1])["code"] == "invalid-json");
    CHECK(loop.run([&] { return app->adapter.connection_count(); }) == 1);
    CHECK(hub.counters().connections_open == 1);

    loop.run([&] { app.reset(); });  // destroying the adapter hangs up: the user leaves
    CHECK(hub.counters().connections_open == 0);
}

TEST_CASE("a refused upgrade gets the hub's status with its reason as the body, then the hang-up", "[qt]") {
    sb::Hub hub;
    hub.on_authorize([](const sb::Handshake& h) {
        return h.query_param("token") == "good" ? sb::Verdict::allow() : sb::Verdict::deny("no valid token", 401);
    });
    QtServer server;
    const auto port = server.start(hub, {});
    auto response_to = [&](const std::string& target) {
        RawClient client(port);
        client.write(upgrade_request(target));
        client.read_until([](const std::string& r) {
            auto end = r.find("\r\n\r\n");
            return end != std::string::npos && r.find("Content-Length: ") != std::string::npos &&
                   r.size() >= end + 4 + std::stoul(r.substr(r.find("Content-Length: ") + 16));
        });
        CHECK(client.hung_up());
        return client.received;
    };
    auto refused = response_to("/?token=bad");
    CHECK(refused.rfind("HTTP/1.1 401 Unauthorized\r\n", 0) == 0);
    CHECK(refused.substr(refused.find("\r\n\r\n") + 4) == "no valid token");
    auto unknown = response_to("/elsewhere?token=good");
    CHECK(unknown.rfind("HTTP/1.1 404 ", 0) == 0);
    CHECK(hub.counters().connections_total == 0);

    RawClient admitted(port);
    admitted.write(upgrade_request("/?token=good"));
    CHECK(admitted.read_until([](const std::string& r) { return !frames_after_head(r).empty(); }));
    CHECK(admitted.received.rfind("HTTP/1.1 101", 0) == 0);
    server.stop();
}

TEST_CASE("messages sent from several threads arrive complete and in each thread's order", "[qt]") {
    sb::Hub hub;
    QtServer server;
    const auto port = server.start(hub, {});

    QWebSocket client;
    std::vector<json> received;
    QObject::connect(&client, &QWebSocket::textMessageReceived,
                     [&](const QString& text) { received.push_back(json::parse(text.toStdString())); });
    client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port)));
    REQUIRE(wait_until([&] { return !received.empty(); }));
    REQUIRE(received[0]["type"] == "login");
    const auto id = received[0]["userId"].get<sb::UserId>();

    constexpr int threads = 4, each = 300;
    std::atomic<int> refused{0};
    std::vector<std::thread> senders;
    for (int t = 0; t < threads; ++t)
        senders.emplace_back([&, t] {
            for (int n = 0; n < each; ++n)
                if (hub.send_to(id, {{"type", "note"}, {"thread", t}, {"n", n}}) != sb::SendResult::sent) ++refused;
        });
    for (auto& s : senders)
        s.join();
    REQUIRE(refused == 0);
    REQUIRE(wait_until([&] { return received.size() == 1 + threads * each; }));
    std::map<int, int> next;
    for (std::size_t i = 1; i < received.size(); ++i) {
        int t = received[i]["thread"], n = received[i]["n"];
        CHECK(n == next[t]);
        next[t] = n + 1;
    }
    client.close();
    server.stop();
}

// Switchboard: the Qt WebSockets adapter (target switchboard::qt).
//
// Puts a Hub on a Qt event loop, in one of two ways:
//
//   1. Listen: `Adapter::listen()` opens a QTcpServer of its own and serves
//      every connection it accepts as a WebSocket.
//   2. Hand over: your own QTcpServer accepts a connection, you look at the
//      request (with QTcpSocket::peek, reading nothing), find it is a
//      WebSocket upgrade, and pass the socket to `Adapter::serve()`.
//
// Qt: written for Qt 5.15 (Qt WebSockets 5.15: message and frame size
// limits, QWebSocketServer::handleConnection) and for the same API in Qt 6.
// Debian 12 has no Qt 6 WebSockets package, so only Qt 5.15 is built and
// tested here; CMake takes Qt 6 when it finds Qt6WebSockets.
//
// Why it reads the upgrade request itself: QWebSocketServer cannot refuse an
// upgrade with an HTTP status and a body, and the hub refuses with both
// (404 for an unknown path, 403 for a foreign Origin, 401/403 from the
// authorize hook). So the adapter peeks at the request on the QTcpSocket
// (leaving every byte in the socket's buffer), asks the hub, and either
// answers the refusal itself or hands the untouched socket to a
// QWebSocketServer (`handleConnection`), which reads the request again and
// writes the 101. Bytes the client sent behind its request stay in the
// buffer for the WebSocket.
//
// What the adapter does for every WebSocket (the same as the Beast and
// websocketpp adapters, with the same option names):
//   - the upgrade request goes to `hub.admit()`: a refusal is answered with
//     the hub's status and its reason as the body; requests without Host,
//     with a Sec-WebSocket-Key that is not 16 bytes in base64, or that are
//     not WebSocket upgrades get 400; a request head over 16 KiB gets 431;
//     during shutdown, 503; one not complete within `handshake_timeout` is
//     hung up;
//   - text messages go to `hub.receive()`, one at a time, in order;
//   - outgoing messages wait in a bounded per-connection queue: what waits
//     there plus what Qt's socket has not yet written counts against
//     `TransportOptions::queue_max_bytes`; messages routed from other users
//     may fill half (beyond that the sender gets `recipient-busy`); a
//     message from the server itself that would take it over the whole
//     closes the connection instead (1008 "too slow", transport close
//     "slow-consumer"), and so does a client whose pongs pile up that way
//     (Qt answers every ping itself);
//   - a close frame from the client, a protocol error, a keep-alive timeout
//     or a close asked for by the hub take the user out of the hub at once
//     (the others get `user-left`); the socket is then hung up after at
//     most `close_timeout`, even if the client has stopped reading;
//   - messages longer than `read_message_max` (default: the hub's
//     `Limits::max_message_bytes`) are refused by Qt's reader: close 1009,
//     counted "message-too-big"; binary frames: close 1003, counted
//     "binary-frame"; text that is not UTF-8: close 1007 (Qt);
//   - keep-alive: a client silent for half `idle_timeout` is pinged; one
//     that then sends nothing, not even the pong, for another half is
//     dropped (close 1008 "keep-alive timeout", counted
//     "keepalive-timeout"); the user leaves as a lost connection (it may
//     resume within Options::resume_window), as after any connection that
//     ended without a close frame.
//
// Threads: an Adapter lives on the thread that constructed it, which must
// run a Qt event loop (QCoreApplication::exec, QThread::exec); every socket
// it serves lives there too. Construct, listen, serve and destroy it on that
// thread. `close_all` and `connection_count` may be called from any thread.
// The hub calls `Connection::send`, `offer` and `close` from whichever
// thread routed a message: they check the queue's bound under its lock, on
// the calling thread, and wake the adapter's thread with one queued call, so
// they never block on the network, and messages sent from one thread go out
// in the order they were sent.
//
// Example (a Qt console application serving the default room and
// /room/<name> on port 8080):
//
//   QCoreApplication app(argc, argv);
//   switchboard::Hub hub;
//   switchboard::qt::Adapter adapter(hub);
//   if (auto error = adapter.listen(QHostAddress::LocalHost, 8080)) { qCritical() << error->message.c_str(); return 1;
//   } QObject::connect(&app, &QCoreApplication::aboutToQuit, [&] { adapter.close_all(); }); return app.exec();
//
// Example (hand-over from your own server, in its readyRead handler):
//
//   QByteArray head = socket->peek(socket->bytesAvailable());   // read nothing
//   if (!head.contains("\r\n\r\n")) return;                       // not complete yet
//   if (is_websocket_upgrade(head)) {                             // your test, e.g. an "Upgrade:" header
//       socket->disconnect(this);                                 // your handlers off the socket
//       adapter.serve(socket);                                    // the adapter owns it now
//   }
//
// See examples/qt_host for a whole program (it serves the chat page too).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>

#include <QtNetwork/QHostAddress>

#include <switchboard/errors.hpp>
#include <switchboard/hub.hpp>
#include <switchboard/transport.hpp>

QT_BEGIN_NAMESPACE
class QTcpSocket;
QT_END_NAMESPACE

namespace switchboard::qt {

/**
 * The shared transport settings (transport.hpp), as they are. Here
 * `queue_max_bytes` bounds what waits in the adapter's queue plus what the
 * QTcpSocket has not written yet; `handshake_timeout` bounds reading the
 * upgrade request and Qt's 101, `close_timeout` the wait for a closing
 * connection to end.
 */
using TransportOptions = switchboard::TransportOptions;

/**
 * Serves Switchboard's WebSockets on a Qt event loop.
 *
 * Ownership: the Hub must outlive the Adapter. Destroying the Adapter hangs
 * up every connection at once (each user leaves the hub); call `close_all`
 * first, and destroy it in `done`, for a graceful stop.
 */
class Adapter {
public:
    /** On the thread whose event loop will run it. */
    explicit Adapter(Hub& hub, TransportOptions options = {});
    ~Adapter();
    Adapter(const Adapter&) = delete;
    Adapter& operator=(const Adapter&) = delete;

    /**
     * Listen on `address`:`port` (0: any free port) and serve every
     * connection accepted there. nullopt on success, else an error with
     * code "listen" and Qt's explanation. Call it once.
     */
    std::optional<Error> listen(const QHostAddress& address = QHostAddress(QHostAddress::LocalHost), quint16 port = 0);

    /** The port `listen` bound (the real one when it was given 0); 0 when not listening. */
    quint16 port() const;

    /**
     * Serve a connection your application accepted: the adapter takes
     * ownership of `socket` (it becomes a child of the adapter's objects)
     * and reads the upgrade request from it within `handshake_timeout`.
     * Nothing of the request may have been read yet (peek() leaves it in
     * place); disconnect your own handlers from the socket first. The socket
     * must live on the adapter's thread; call this on that thread.
     */
    void serve(QTcpSocket* socket);

    /**
     * Graceful shutdown, from any thread: stop listening, refuse upgrades
     * in progress (HTTP 503) and close every WebSocket with `code` (default
     * 1001, "server shutting down"). Returns at once; `done`, if given,
     * runs on the adapter's thread once every connection has ended, which
     * takes at most about `close_timeout` (a client that does not answer
     * the close frame is hung up then).
     */
    void close_all(int code = close_code::going_away, std::function<void()> done = {});

    /** WebSocket connections open right now (upgraded and not yet ended). Any thread. */
    std::size_t connection_count() const;

    const TransportOptions& options() const noexcept;

    /** Internal: the state shared with the connections. */
    class State;

private:
    std::unique_ptr<State> state_;
};

}  // namespace switchboard::qt

// Internal to switchboard_qt: one admitted connection, from the hand-over
// to QWebSocketServer until its socket is gone. Lives on the adapter's thread.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QTimer>
#include <QtNetwork/QTcpSocket>
#include <QtWebSockets/QWebSocket>

#include "adapter_state.hpp"
#include "outgoing_queue.hpp"

namespace switchboard::qt::detail {

/**
 * The session's life is one Phase: `upgrading` (Qt is writing the 101),
 * `open` (in the hub), `closing` (out of the hub; the socket is hung up
 * within close_timeout at most), `closed`. Four functions end it:
 * `begin_close` (our close frame, after what was queued), `drop_slow` (a
 * client that stopped reading), `closing_handshake` (Qt sent a close frame:
 * the client's close, or a protocol error Qt found), and `gone` (the TCP
 * connection ended).
 */
class Session : public QObject {
public:
    /** Takes `socket` (as a child) before it is handed to QWebSocketServer. */
    Session(Adapter::State& state, QTcpSocket* socket, Admission admission);
    ~Session() override;

    /** True while upgrading, if `ws` is the WebSocket Qt made of this session's socket. */
    bool carries(const QWebSocket& ws) const;

    /** Qt wrote the 101: join the hub. Takes `ws` (as a child). */
    void open(QWebSocket* ws);

    /** Close with `code` (the user leaves the hub now); a session still upgrading is hung up. */
    void close(int code, std::string_view reason);

protected:
    /** Every event, the queue's wake-ups included, first synchronizes with the queue (see OutgoingQueue). */
    bool event(QEvent* event) override;

private:
    enum class Phase { upgrading, open, closing, closed };

    void write();
    void report_unsent();
    void check_pongs();
    void keepalive();
    void close_for(std::string_view counter, int code, const char* reason, Departure how);
    void begin_close(int code, const QString& reason, Departure how);
    void drop_slow();
    void closing_handshake();
    void gone();
    void leave(Departure how);

    Adapter::State& state_;
    QPointer<QTcpSocket> tcp_;
    QPointer<QWebSocket> ws_;
    std::optional<Admission> admission_;
    std::shared_ptr<OutgoingQueue> queue_;
    std::shared_ptr<switchboard::Session> session_;
    QTimer keepalive_;
    QTimer hang_up_;
    Phase phase_ = Phase::upgrading;
    bool tcp_closing_ = false;  // the QTcpSocket itself is closing, not the WebSocket
    bool heard_ = true;         // something arrived since the last keep-alive tick
    bool pinged_ = false;       // the last tick pinged
};

}  // namespace switchboard::qt::detail

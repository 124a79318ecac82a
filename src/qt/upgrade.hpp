// Internal to switchboard_qt: one connection until its upgrade request is
// answered. It peeks (never reads), so that an admitted request is still in
// the socket's buffer for QWebSocketServer::handleConnection.
#pragma once

#include <QtCore/QObject>
#include <QtCore/QTimer>
#include <QtNetwork/QTcpSocket>

#include "adapter_state.hpp"
#include "upgrade_request.hpp"

namespace switchboard::qt::detail {

class Upgrade : public QObject {
public:
    /** Takes `socket` (as a child) and waits for its request, within handshake_timeout. */
    Upgrade(Adapter::State& state, QTcpSocket* socket);

    /** Answer with `refusal` and hang up once it is written (or after handshake_timeout). */
    void refuse(const Refusal& refusal);

private:
    void read();
    void end();

    Adapter::State& state_;
    QTcpSocket* socket_;
    QTimer timeout_;
    bool answered_ = false;
    bool ended_ = false;
};

/** The peer's address as the hub wants it: "127.0.0.1" also when Qt has it as "::ffff:127.0.0.1". */
std::string peer_address(const QTcpSocket& socket);

}  // namespace switchboard::qt::detail

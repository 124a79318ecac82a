#include "upgrade.hpp"

#include <algorithm>
#include <string_view>

namespace switchboard::qt::detail {

std::string peer_address(const QTcpSocket& socket) {
    QHostAddress address = socket.peerAddress();
    bool v4 = false;
    quint32 ipv4 = address.toIPv4Address(&v4);
    return (v4 ? QHostAddress(ipv4) : address).toString().toStdString();
}

Upgrade::Upgrade(Adapter::State& state, QTcpSocket* socket) : QObject(&state), state_(state), socket_(socket) {
    socket_->setParent(this);
    connect(socket_, &QTcpSocket::readyRead, this, &Upgrade::read);
    connect(socket_, &QTcpSocket::disconnected, this, &Upgrade::end);
    timeout_.setSingleShot(true);
    connect(&timeout_, &QTimer::timeout, this, [this] {
        socket_->abort();
        end();
    });
    timeout_.start(state_.options.handshake_timeout);
    // What arrived before the hand-over; queued, as the state has not seen this object yet.
    const bool connected = socket_->state() == QAbstractSocket::ConnectedState;
    QMetaObject::invokeMethod(this, connected ? &Upgrade::read : &Upgrade::end, Qt::QueuedConnection);
}

void Upgrade::read() {
    if (answered_) return;
    const qint64 available = socket_->bytesAvailable();
    const QByteArray bytes = socket_->peek(std::min<qint64>(available, max_request_head));
    const std::string_view view(bytes.constData(), static_cast<std::size_t>(bytes.size()));
    const std::size_t length = request_head_length(view);
    if (length == 0) {
        if (available >= static_cast<qint64>(max_request_head)) refuse({431, "the request head is over 16 KiB"});
        return;
    }
    UpgradeRequest request;
    if (auto bad = parse_request_head(view.substr(0, length), request)) return refuse(*bad);
    if (auto bad = check_upgrade(request)) return refuse(*bad);
    if (state_.stopping()) return refuse({503, "server shutting down"});
    Admission admission = state_.hub.admit(make_handshake(request, peer_address(*socket_)));
    if (!admission) return refuse({admission.status(), admission.reason()});

    answered_ = true;
    timeout_.stop();
    socket_->disconnect(this);
    QTcpSocket* socket = std::exchange(socket_, nullptr);
    state_.hand_over(socket, std::move(admission));
    end();
}

void Upgrade::refuse(const Refusal& refusal) {
    if (answered_ || !socket_) return;
    answered_ = true;
    state_.log(LogLevel::debug, "refused an upgrade from {}: {} {}", peer_address(*socket_), refusal.status,
               refusal.reason);
    const std::string response = refusal_response(refusal);
    socket_->write(response.data(), static_cast<qint64>(response.size()));
    // A client that does not read its answer is hung up when the timer ends.
    timeout_.start(state_.options.handshake_timeout);
    socket_->disconnectFromHost();
}

void Upgrade::end() {
    if (ended_) return;
    ended_ = true;
    timeout_.stop();
    state_.upgrade_ended(this);
    deleteLater();
}

}  // namespace switchboard::qt::detail

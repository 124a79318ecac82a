#include "session.hpp"

#include <string>
#include <utility>

namespace switchboard::qt::detail {
namespace {

/** The hub's view of a session: its queue, from any thread. */
class HubConnection final : public Connection {
public:
    HubConnection(Adapter::State& state, std::shared_ptr<OutgoingQueue> queue)
        : hub_(state.hub), queue_(std::move(queue)) {}

    void send(std::shared_ptr<const std::string> text) override {
        if (queue_->push(std::move(text), false) != OutgoingQueue::Pushed::overflow) return;
        hub_.count_transport_close(transport_close::slow_consumer);
        switchboard::detail::log(hub_.options(), LogLevel::info, "closing a connection ({}): too slow",
                                 transport_close::slow_consumer);
    }

    bool offer(std::shared_ptr<const std::string> text) override {
        return queue_->push(std::move(text), true) != OutgoingQueue::Pushed::refused;
    }

    void close(int code, std::string_view reason) override { queue_->close(code, std::string(reason)); }

private:
    Hub& hub_;  // outlives every connection (Adapter's contract)
    std::shared_ptr<OutgoingQueue> queue_;
};

}  // namespace

Session::Session(Adapter::State& state, QTcpSocket* socket, Admission admission)
    : QObject(&state), state_(state), tcp_(socket), admission_(std::move(admission)) {
    tcp_->setParent(this);
    // Connected before QWebSocket forwards this signal as its own aboutToClose,
    // so that closing_handshake can tell the two apart.
    connect(tcp_, &QTcpSocket::aboutToClose, this, [this] { tcp_closing_ = true; });
    connect(tcp_, &QTcpSocket::disconnected, this, &Session::gone);
    hang_up_.setSingleShot(true);
    connect(&hang_up_, &QTimer::timeout, this, [this] {
        if (tcp_) tcp_->abort();
        gone();
    });
    hang_up_.start(state_.options.handshake_timeout);  // bounds Qt's 101 too
}

Session::~Session() {
    // Only the adapter's destruction gets here before `closed`: hang up now.
    if (phase_ == Phase::closed) return;
    if (tcp_) tcp_->disconnect(this);
    if (ws_) ws_->disconnect(this);
    leave(Departure::closed);
    if (queue_) queue_->detach();
    if (tcp_) tcp_->abort();
}

bool Session::event(QEvent* event) {
    if (queue_) queue_->synchronize();
    return QObject::event(event);
}

bool Session::carries(const QWebSocket& ws) const {
    return phase_ == Phase::upgrading && tcp_ && ws.peerPort() == tcp_->peerPort() &&
           ws.peerAddress() == tcp_->peerAddress() && ws.localPort() == tcp_->localPort() &&
           ws.localAddress() == tcp_->localAddress();
}

void Session::open(QWebSocket* ws) {
    ws_ = ws;
    ws_->setParent(this);
    if (phase_ != Phase::upgrading || !tcp_) return;
    hang_up_.stop();
    ws_->setMaxAllowedIncomingFrameSize(state_.read_limit);
    ws_->setMaxAllowedIncomingMessageSize(state_.read_limit);
    connect(ws_, &QWebSocket::textMessageReceived, this, [this](const QString& text) {
        if (phase_ != Phase::open || !session_) return;
        const QByteArray utf8 = text.toUtf8();
        state_.hub.receive(*session_, std::string_view(utf8.constData(), static_cast<std::size_t>(utf8.size())));
    });
    connect(ws_, &QWebSocket::binaryFrameReceived, this, [this] {
        close_for(transport_close::binary_frame, close_code::unsupported_data, "binary frames are not supported",
                  Departure::closed);
    });
    connect(ws_, &QWebSocket::aboutToClose, this, [this] {
        if (!tcp_closing_) closing_handshake();
    });
    connect(tcp_, &QTcpSocket::readyRead, this, [this] { heard_ = true; });
    // Queued like QWebSocket's own reader, and connected after it: runs once Qt has answered what it read.
    connect(tcp_, &QTcpSocket::readyRead, this, &Session::check_pongs, Qt::QueuedConnection);
    connect(tcp_, &QTcpSocket::bytesWritten, this, &Session::report_unsent);

    queue_ = std::make_shared<OutgoingQueue>(state_.options.queue_max_bytes, this, [this] { write(); });
    phase_ = Phase::open;
    state_.session_opened();
    if (state_.stopping())
        return begin_close(close_code::going_away, QStringLiteral("server shutting down"), Departure::closed);
    // Sends `login` into the queue. Qt reads what the client sent behind
    // its request only once this returns (QWebSocket's reader is queued).
    session_ = state_.hub.open(std::move(*admission_), std::make_shared<HubConnection>(state_, queue_));
    admission_.reset();
    if (state_.options.idle_timeout.count() >= 2) {
        connect(&keepalive_, &QTimer::timeout, this, &Session::keepalive);
        keepalive_.start(state_.options.idle_timeout / 2);
    }
}

void Session::close(int code, std::string_view reason) {
    if (phase_ == Phase::upgrading) {
        if (tcp_) tcp_->abort();
        return gone();
    }
    begin_close(code, QString::fromUtf8(reason.data(), static_cast<int>(reason.size())), Departure::closed);
}

void Session::write() {
    if (phase_ != Phase::open) return;
    for (auto& item : queue_->take()) {
        if (item.overflow) return drop_slow();  // counted by the thread that overflowed it
        if (item.close_code != 0)
            return begin_close(item.close_code, QString::fromStdString(item.close_reason), Departure::closed);
        ws_->sendTextMessage(QString::fromUtf8(item.text->data(), static_cast<int>(item.text->size())));
    }
    report_unsent();
}

void Session::report_unsent() {
    if (queue_ && tcp_) queue_->set_unsent(static_cast<std::size_t>(tcp_->bytesToWrite()));
}

void Session::check_pongs() {
    if (phase_ != Phase::open || !tcp_) return;
    // Qt answers every ping straight into the socket. Grown over the bound
    // since our last write: pongs the client does not read.
    const auto unsent = static_cast<std::size_t>(tcp_->bytesToWrite());
    if (unsent > state_.options.queue_max_bytes && unsent > queue_->unsent()) {
        state_.hub.count_transport_close(transport_close::slow_consumer);
        state_.log(LogLevel::info, "closing a connection ({}): too slow, its pongs pile up",
                   transport_close::slow_consumer);
        return drop_slow();
    }
    queue_->set_unsent(unsent);
}

void Session::keepalive() {
    if (phase_ != Phase::open) return;
    if (std::exchange(heard_, false)) {
        pinged_ = false;
    } else if (!std::exchange(pinged_, true)) {
        ws_->ping();
    } else {
        // A dead peer, not a close handshake: the user may resume.
        close_for(transport_close::keepalive_timeout, close_code::policy_violation, "keep-alive timeout",
                  Departure::lost);
    }
}

void Session::close_for(std::string_view counter, int code, const char* reason, Departure how) {
    if (phase_ != Phase::open) return;
    state_.hub.count_transport_close(counter);
    state_.log(LogLevel::info, "closing a connection ({}): {}", counter, reason);
    begin_close(code, QString::fromUtf8(reason), how);
}

void Session::begin_close(int code, const QString& reason, Departure how) {
    if (phase_ != Phase::open) return;
    phase_ = Phase::closing;
    // What was queued goes out before the close frame.
    for (auto& item : queue_->take())
        if (item.text) ws_->sendTextMessage(QString::fromUtf8(item.text->data(), static_cast<int>(item.text->size())));
    queue_->detach();
    leave(how);
    hang_up_.start(state_.options.close_timeout);
    // Qt's CloseCode enumerates RFC 6455's codes only; an application code
    // (4000) passes through its int representation unchanged.
    ws_->close(static_cast<QWebSocketProtocol::CloseCode>(code), reason);
}

void Session::drop_slow() {
    if (phase_ != Phase::open) return;
    phase_ = Phase::closing;
    queue_->detach();
    leave(Departure::closed);
    hang_up_.start(state_.options.close_timeout);
    // Our close frame (1008 "too slow") behind its backlog, written past Qt,
    // whose close() would stop reading at once: until the hang-up the client
    // may still write (what it sends is dropped) instead of meeting a reset.
    static const char frame[] = "\x88\x0a\x03\xf0too slow";
    tcp_->write(frame, sizeof frame - 1);
}

void Session::closing_handshake() {
    if (phase_ != Phase::open) return;
    phase_ = Phase::closing;
    // Qt closes with 1009 for a message over the limit, as it would echo a
    // client's 1009; clients do not send that code.
    if (ws_->closeCode() == QWebSocketProtocol::CloseCodeTooMuchData) {
        state_.hub.count_transport_close(transport_close::message_too_big);
        state_.log(LogLevel::info, "closed a connection: message over {} bytes", state_.read_limit);
    }
    queue_->detach();
    leave(Departure::closed);
    hang_up_.start(state_.options.close_timeout);
}

void Session::gone() {
    if (phase_ == Phase::closed) return;
    const bool was_open = phase_ != Phase::upgrading;
    // Open until now: no close frame either way, the connection broke.
    leave(phase_ == Phase::open ? Departure::lost : Departure::closed);
    phase_ = Phase::closed;
    keepalive_.stop();
    hang_up_.stop();
    if (queue_) queue_->detach();
    state_.session_ended(this, was_open);
    deleteLater();
}

void Session::leave(Departure how) {
    if (auto session = std::move(session_)) state_.hub.leave(*session, how);
}

}  // namespace switchboard::qt::detail

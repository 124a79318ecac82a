// The adapter's entry points and the state its connections share.
#include "adapter_state.hpp"
#include "session.hpp"
#include "upgrade.hpp"

#include <QtCore/QThread>

namespace switchboard::qt {

Adapter::State::State(Hub& hub, TransportOptions options)
    : hub(hub),
      options(options),
      read_limit(options.read_limit(hub.options())),
      websockets_(QStringLiteral("switchboard"), QWebSocketServer::NonSecureMode) {
    connect(&websockets_, &QWebSocketServer::newConnection, this, &State::new_websockets);
}

Adapter::State::~State() {
    // Before the members go: sessions leave the hub in their destructors.
    stopping_ = true;
    auto upgrades = std::move(upgrades_);
    auto sessions = std::move(sessions_);
    for (auto* upgrade : upgrades)
        delete upgrade;
    for (auto* session : sessions)
        delete session;
}

std::optional<Error> Adapter::State::listen(const QHostAddress& address, quint16 port) {
    if (!listener_) {
        listener_ = new QTcpServer(this);
        connect(listener_, &QTcpServer::newConnection, this, [this] {
            while (listener_->hasPendingConnections())
                serve(listener_->nextPendingConnection());
        });
    }
    if (stopping_) return Error{"listen", "the adapter is shutting down"};
    if (!listener_->listen(address, port))
        return Error{"listen", fmt::format("cannot listen on {}:{}: {}", address.toString().toStdString(), port,
                                           listener_->errorString().toStdString())};
    return std::nullopt;
}

quint16 Adapter::State::port() const {
    return listener_ && listener_->isListening() ? listener_->serverPort() : 0;
}

void Adapter::State::serve(QTcpSocket* socket) {
    if (!socket) return;
    if (stopping_) {
        socket->abort();
        socket->deleteLater();
        return;
    }
    upgrades_.insert(new detail::Upgrade(*this, socket));
}

void Adapter::State::hand_over(QTcpSocket* socket, Admission admission) {
    sessions_.insert(new detail::Session(*this, socket, std::move(admission)));
    // Qt reads the request again (it is still in the socket's buffer),
    // writes the 101 and makes a QWebSocket of it: new_websockets.
    websockets_.handleConnection(socket);
}

void Adapter::State::new_websockets() {
    while (websockets_.hasPendingConnections()) {
        QWebSocket* ws = websockets_.nextPendingConnection();
        detail::Session* owner = nullptr;
        for (auto* session : sessions_)
            if (session->carries(*ws)) owner = session;
        if (owner) {
            owner->open(ws);
        } else {
            ws->abort();
            ws->deleteLater();
        }
    }
}

void Adapter::State::upgrade_ended(detail::Upgrade* upgrade) {
    upgrades_.erase(upgrade);
    finish_if_done();
}

void Adapter::State::session_ended(detail::Session* session, bool was_open) {
    sessions_.erase(session);
    if (was_open) --open_;
    finish_if_done();
}

void Adapter::State::close_all(int code, std::function<void()> done) {
    stopping_ = true;
    if (listener_) listener_->close();
    if (done) done_.push_back(std::move(done));
    for (auto* upgrade : std::set(upgrades_))
        upgrade->refuse({503, "server shutting down"});
    for (auto* session : std::set(sessions_))
        session->close(code, "server shutting down");
    finish_if_done();
}

void Adapter::State::post_close_all(int code, std::function<void()> done) {
    std::lock_guard lock(post_mutex_);
    QMetaObject::invokeMethod(
        this, [this, code, done = std::move(done)]() mutable { close_all(code, std::move(done)); },
        Qt::QueuedConnection);
}

bool Adapter::State::event(QEvent* event) {
    { std::lock_guard lock(post_mutex_); }
    return QObject::event(event);
}

void Adapter::State::finish_if_done() {
    if (!stopping_ || done_.empty() || !upgrades_.empty() || !sessions_.empty()) return;
    // Queued: a callback may destroy the adapter, which must not happen under our feet.
    QMetaObject::invokeMethod(
        this,
        [done = std::exchange(done_, {})] {
            for (auto& callback : done)
                callback();
        },
        Qt::QueuedConnection);
}

Adapter::Adapter(Hub& hub, TransportOptions options) : state_(std::make_unique<State>(hub, options)) {}

Adapter::~Adapter() = default;

std::optional<Error> Adapter::listen(const QHostAddress& address, quint16 port) {
    return state_->listen(address, port);
}

quint16 Adapter::port() const {
    return state_->port();
}

void Adapter::serve(QTcpSocket* socket) {
    state_->serve(socket);
}

void Adapter::close_all(int code, std::function<void()> done) {
    if (QThread::currentThread() == state_->thread())
        state_->close_all(code, std::move(done));
    else
        state_->post_close_all(code, std::move(done));
}

std::size_t Adapter::connection_count() const {
    return state_->open_count();
}

const TransportOptions& Adapter::options() const noexcept {
    return state_->options;
}

}  // namespace switchboard::qt

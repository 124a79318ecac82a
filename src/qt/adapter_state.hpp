// Internal to switchboard_qt: what the adapter's connections share. Lives on
// the adapter's thread, like every upgrade and session it owns.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include <QtCore/QObject>
#include <QtNetwork/QTcpServer>
#include <QtWebSockets/QWebSocketServer>

#include <switchboard/qt.hpp>

#include "../detail/log.hpp"

namespace switchboard::qt {

namespace detail {
class Upgrade;
class Session;
}  // namespace detail

/**
 * The upgrades being read, the sessions, the listener, and the
 * QWebSocketServer that writes the 101 of every admitted upgrade
 * (handleConnection) without listening itself.
 */
class Adapter::State : public QObject {
public:
    State(Hub& hub, TransportOptions options);
    ~State() override;

    Hub& hub;
    const TransportOptions options;
    const std::size_t read_limit;  ///< options.read_limit(hub.options())

    std::optional<Error> listen(const QHostAddress& address, quint16 port);
    quint16 port() const;
    void serve(QTcpSocket* socket);
    void close_all(int code, std::function<void()> done);
    bool stopping() const noexcept { return stopping_; }
    std::size_t open_count() const noexcept { return open_.load(); }

    // ---- For the upgrades and sessions (the adapter's thread) ----

    /** An upgrade was admitted: its socket becomes a session, and Qt answers the request. */
    void hand_over(QTcpSocket* socket, Admission admission);
    void upgrade_ended(detail::Upgrade* upgrade);
    void session_opened() { ++open_; }
    void session_ended(detail::Session* session, bool was_open);

    /** From another thread: run close_all on the adapter's thread. */
    void post_close_all(int code, std::function<void()> done);

    template <class... Args>
    void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) const {
        switchboard::detail::log(hub.options(), level, format, std::forward<Args>(args)...);
    }

protected:
    /** Every event first takes post_mutex_ (see OutgoingQueue::synchronize: the same, for close_all). */
    bool event(QEvent* event) override;

private:
    void new_websockets();
    void finish_if_done();

    QWebSocketServer websockets_;
    QTcpServer* listener_ = nullptr;
    std::set<detail::Upgrade*> upgrades_;
    std::set<detail::Session*> sessions_;
    bool stopping_ = false;
    std::vector<std::function<void()>> done_;
    std::atomic<std::size_t> open_{0};
    std::mutex post_mutex_;  // held while another thread posts close_all to this one
};

}  // namespace switchboard::qt

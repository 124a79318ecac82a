// Internal to switchboard_beast: the hub's handle on one WebSocketSession.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <switchboard/connection.hpp>

namespace switchboard::beast::detail {

template <class Next>
class WebSocketSession;

/** The hub's handle on a WebSocket: a weak reference, so the hub never keeps a dead socket alive. */
template <class Next>
class HubConnection final : public Connection {
public:
    explicit HubConnection(std::weak_ptr<WebSocketSession<Next>> session) : session_(std::move(session)) {}
    void send(std::shared_ptr<const std::string> text) override {
        if (auto s = session_.lock()) s->push(std::move(text), false);
    }
    bool offer(std::shared_ptr<const std::string> text) override {
        auto s = session_.lock();
        return !s || s->push(std::move(text), true);  // a connection already gone drops it, as send does
    }
    void close(int code, std::string_view reason) override {
        if (auto s = session_.lock()) s->close(code, reason);
    }

private:
    std::weak_ptr<WebSocketSession<Next>> session_;
};

}  // namespace switchboard::beast::detail

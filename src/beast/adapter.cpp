// The embeddable entry points (Adapter) and the state an adapter shares
// with its connections.
#include "adapter_state.hpp"

#include <algorithm>
#include <vector>

namespace switchboard::beast {

// ---- Adapter::State ----

Adapter::State::State(Hub& hub_, TransportOptions options_)
    : hub(hub_), options(options_), read_message_max(options_.read_limit(hub_.options())) {}

bool Adapter::State::add(const std::shared_ptr<detail::Closable>& connection) {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    connections_.emplace(connection.get(), connection);
    return true;
}

void Adapter::State::remove(const detail::Closable* connection) {
    std::unique_lock lock(mutex_);
    connections_.erase(connection);
    maybe_drained(lock);
}

bool Adapter::State::begin_http(const std::string& address) {
    const auto& proxies = hub.options().trusted_proxies;
    const bool proxy = std::find(proxies.begin(), proxies.end(), address) != proxies.end();
    std::string_view refused;
    {
        std::lock_guard lock(mutex_);
        auto& from_address = handshakes_[address];
        if (options.max_http_connections != 0 && http_connections_ >= options.max_http_connections)
            refused = transport_close::too_many_http_connections;
        else if (!proxy && options.max_handshakes_per_address != 0 &&
                 from_address >= options.max_handshakes_per_address)
            refused = transport_close::too_many_handshakes;
        if (refused.empty()) {
            ++http_connections_;
            ++from_address;
        } else if (from_address == 0) {
            handshakes_.erase(address);
        }
    }
    if (refused.empty()) return true;
    hub.count_transport_close(refused);
    log(LogLevel::info, "refused a connection from {}: {}", address, refused);
    return false;
}

void Adapter::State::end_http(const std::string& address) {
    std::lock_guard lock(mutex_);
    --http_connections_;
    auto it = handshakes_.find(address);
    if (it != handshakes_.end() && --it->second == 0) handshakes_.erase(it);
}

bool Adapter::State::stopping() const {
    std::lock_guard lock(mutex_);
    return stopping_;
}

void Adapter::State::close_all(int code) {
    std::vector<std::shared_ptr<detail::Closable>> targets;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (auto& [key, weak] : connections_)
            if (auto connection = weak.lock()) targets.push_back(std::move(connection));
    }
    log(LogLevel::info, "closing {} connection(s)", targets.size());
    // Connections call back into remove() from their destructors: not under our lock.
    for (auto& connection : targets)
        connection->close(code, "server shutting down");
    targets.clear();
    std::unique_lock lock(mutex_);
    maybe_drained(lock);
}

void Adapter::State::on_drained(std::function<void()> callback) {
    std::unique_lock lock(mutex_);
    on_drained_ = std::move(callback);
    maybe_drained(lock);
}

void Adapter::State::maybe_drained(std::unique_lock<std::mutex>& lock) {
    if (!stopping_ || !connections_.empty() || !on_drained_) return;
    auto callback = std::move(on_drained_);
    on_drained_ = nullptr;
    lock.unlock();
    callback();
}

// ---- Adapter ----

Adapter::Adapter(Hub& hub, TransportOptions options) : state_(std::make_shared<State>(hub, options)) {}

Adapter::~Adapter() = default;

void Adapter::close_all(int code) {
    state_->close_all(code);
}

std::size_t Adapter::connection_count() const {
    return state_->websockets.load();
}

const TransportOptions& Adapter::options() const noexcept {
    return state_->options;
}

void Adapter::serve(boost::asio::ip::tcp::socket socket, HttpRequest request, std::string_view already_read) {
    // The connection needs a strand of its own, whatever executor the
    // caller's socket was accepted on.
    detail::set_no_delay(socket);
    detail::rehome_on_strand(std::move(socket), [state = state_, r = std::move(request),
                                                 early = std::string(already_read)](auto stream) mutable {
        detail::serve_upgrade(state, std::move(stream), std::move(r), std::move(early));
    });
}

void Adapter::serve(boost::asio::ip::tcp::socket socket) {
    detail::rehome_on_strand(std::move(socket),
                             [state = state_](auto stream) { detail::start_http(state, nullptr, std::move(stream)); });
}

}  // namespace switchboard::beast

// A joined user as the hub sees it: the adapter's Session plus delivery
// ordering and rate-limit state. Private to the library.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <switchboard/hub.hpp>

namespace switchboard::detail {

using Payload = std::shared_ptr<const std::string>;
/** A user's public profile: a JSON object as compact text, shared by every message that carries it. */
using Profile = std::shared_ptr<const std::string>;

class Member final : public Session {
public:
    Member(UserId id, std::string room, std::shared_ptr<Connection> connection, std::string remote_address,
           Profile profile, double burst)
        : Session(id, std::move(room)),
          connection(std::move(connection)),
          remote_address(std::move(remote_address)),
          profile(std::move(profile)),
          tokens_(burst),
          last_refill_(std::chrono::steady_clock::now()) {}

    const std::shared_ptr<Connection> connection;
    const std::string remote_address;
    const Profile profile;

    /** Set under the directory's lock; tells members that joined before this one. */
    std::uint64_t join_seq = 0;
    /** Position in its room's member list, kept by the directory under its lock. */
    std::size_t room_slot = 0;
    /** Set once by Hub::leave (or a refused open); later calls do nothing. */
    std::atomic<bool> gone{false};

    /**
     * Queue a message for this user. Until `welcome` has sent `login`,
     * messages wait here, so a client never sees anything before its login.
     */
    void deliver(Payload message) {
        if (!welcomed_.load(std::memory_order_acquire)) {
            std::unique_lock lock(mutex_);
            if (!welcomed_.load(std::memory_order_relaxed)) {
                pending_.push_back(std::move(message));
                return;
            }
        }
        connection->send(std::move(message));
    }

    /**
     * Queue a message routed from another user, unless the connection
     * refuses it (Connection::offer): false then. Before `login` it waits
     * like any other message.
     */
    bool offer(Payload message) {
        if (!welcomed_.load(std::memory_order_acquire)) {
            std::unique_lock lock(mutex_);
            if (!welcomed_.load(std::memory_order_relaxed)) {
                pending_.push_back(std::move(message));
                return true;
            }
        }
        return connection->offer(std::move(message));
    }

    /** Send `login`, then whatever arrived for this user meanwhile, in order. */
    void welcome(Payload login) {
        connection->send(std::move(login));
        for (;;) {
            std::vector<Payload> batch;
            {
                std::unique_lock lock(mutex_);
                if (pending_.empty()) {
                    welcomed_.store(true, std::memory_order_release);
                    return;
                }
                batch.swap(pending_);
            }
            for (auto& m : batch)
                connection->send(std::move(m));
        }
    }

    /** Token bucket: true if one more message fits in the rate. */
    bool take_token(double rate_per_second, double burst) {
        if (rate_per_second <= 0) return true;
        auto now = std::chrono::steady_clock::now();
        std::unique_lock lock(mutex_);
        std::chrono::duration<double> elapsed = now - last_refill_;
        last_refill_ = now;
        tokens_ = std::min(burst, tokens_ + elapsed.count() * rate_per_second);
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }

private:
    std::atomic<bool> welcomed_{false};
    /** One lock for both: pending_ is only used before `login`, so the two never contend for long. */
    std::mutex mutex_;
    std::vector<Payload> pending_;
    double tokens_;
    std::chrono::steady_clock::time_point last_refill_;
};

}  // namespace switchboard::detail

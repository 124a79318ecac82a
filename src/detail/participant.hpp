// A participant: a joined user as the hub sees it (the adapter's Session plus delivery
// ordering and rate-limit state). Private to the library.
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

class Participant final : public Session, public std::enable_shared_from_this<Participant> {
public:
    Participant(UserId id, std::string room, std::shared_ptr<Connection> connection, std::string remote_address,
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
    /** The secret half of the resume token of this user's last `login` (hex); set before it is sent. */
    std::string resume_secret;

    /**
     * Queue a message from the server (presence, errors, replies). Until
     * `welcome` has sent `login`, messages wait here, so a client never sees
     * anything before its login. While suspended (its socket was lost and it
     * may resume) they are dropped: the `login` of a resume tells the
     * current state of the room.
     */
    void deliver(Payload message) {
        if (state_.load(std::memory_order_acquire) != State::open) {
            std::unique_lock lock(mutex_);
            switch (state_.load(std::memory_order_relaxed)) {
                case State::welcoming:
                    pending_.push_back(std::move(message));
                    return;
                case State::suspended:
                case State::gone:
                    return;
                case State::moved:
                    lock.unlock();
                    return successor_->deliver(std::move(message));
                case State::open:
                    break;
            }
        }
        connection->send(std::move(message));
    }

    /**
     * Queue a message routed from another user, unless the connection
     * refuses it (Connection::offer): false then. Before `login` it waits
     * like any other message; while suspended it is kept for the resume, up
     * to the resume bounds (false past them, and the user is given up: see
     * `overflowed`).
     */
    bool offer(Payload message) {
        if (state_.load(std::memory_order_acquire) != State::open) {
            std::unique_lock lock(mutex_);
            switch (state_.load(std::memory_order_relaxed)) {
                case State::welcoming:
                    pending_.push_back(std::move(message));
                    return true;
                case State::suspended:
                    if (overflowed_ || pending_.size() >= max_kept_ ||
                        kept_bytes_ + message->size() > max_kept_bytes_) {
                        overflowed_ = true;
                        return false;
                    }
                    kept_bytes_ += message->size();
                    pending_.push_back(std::move(message));
                    return true;
                case State::gone:
                    return false;
                case State::moved:
                    lock.unlock();
                    return successor_->offer(std::move(message));
                case State::open:
                    break;
            }
        }
        return connection->offer(std::move(message));
    }

    /**
     * Send `login`, then what was kept for a resumed user while it was away,
     * then whatever arrived for this user meanwhile, in order.
     */
    void welcome(Payload login, std::vector<Payload> kept = {}) {
        connection->send(std::move(login));
        for (auto& m : kept)
            connection->send(std::move(m));
        for (;;) {
            std::vector<Payload> batch;
            {
                std::unique_lock lock(mutex_);
                if (pending_.empty()) {
                    state_.store(State::open, std::memory_order_release);
                    return;
                }
                batch.swap(pending_);
            }
            for (auto& m : batch)
                connection->send(std::move(m));
        }
    }

    /**
     * The socket is lost but the user may resume: from now on routed
     * messages are kept (at most `max_messages` and `max_bytes`), others
     * dropped. False if it was not open (still being welcomed, or already
     * suspended).
     */
    bool suspend(std::size_t max_messages, std::size_t max_bytes) {
        std::unique_lock lock(mutex_);
        if (state_.load(std::memory_order_relaxed) != State::open) return false;
        max_kept_ = max_messages;
        max_kept_bytes_ = max_bytes;
        kept_bytes_ = 0;
        overflowed_ = false;
        state_.store(State::suspended, std::memory_order_release);
        return true;
    }

    /** While suspended: more was routed to it than the resume bounds keep. */
    bool overflowed() {
        std::unique_lock lock(mutex_);
        return overflowed_;
    }

    /**
     * A suspended user's kept messages, once, for a node that took it over:
     * from now on it takes nothing (the node's routing sends on elsewhere).
     */
    std::vector<Payload> release() {
        std::unique_lock lock(mutex_);
        state_.store(State::gone, std::memory_order_release);
        std::vector<Payload> kept;
        kept.swap(pending_);
        return kept;
    }

    /** A suspended user's kept messages, once: from now on everything goes to `successor`. */
    std::vector<Payload> hand_over(Participant* successor) {
        std::unique_lock lock(mutex_);
        successor_ = successor;
        state_.store(State::moved, std::memory_order_release);
        std::vector<Payload> kept;
        kept.swap(pending_);
        return kept;
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

    /** A resumed user's earlier self keeps its successor alive (messages may still come to it). */
    std::shared_ptr<Participant> keep_successor;

private:
    enum class State { welcoming, open, suspended, moved, gone };
    std::atomic<State> state_{State::welcoming};
    /** One lock for both: pending_ is used only before `login` or while suspended, the bucket only while open. */
    std::mutex mutex_;
    std::vector<Payload> pending_;
    std::size_t max_kept_ = 0, max_kept_bytes_ = 0, kept_bytes_ = 0;
    bool overflowed_ = false;
    Participant* successor_ = nullptr;
    double tokens_;
    std::chrono::steady_clock::time_point last_refill_;
};

}  // namespace switchboard::detail

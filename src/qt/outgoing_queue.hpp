// Internal to switchboard_qt: one connection's outgoing queue. Any thread
// pushes (the hub's Connection calls); the connection's Qt thread takes.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <QtCore/QObject>

namespace switchboard::qt::detail {

/**
 * The bound covers what waits here plus what the QTcpSocket still holds
 * (`unsent`, which the Qt thread reports after every write): messages
 * routed from other users may fill half of it, the server's own the rest,
 * and an empty queue takes one message however large. Each push that finds
 * the queue idle wakes the writer with one queued call on its thread.
 */
class OutgoingQueue {
public:
    /** A text message, or (close_code != 0) the close frame that ends the queue. */
    struct Item {
        std::shared_ptr<const std::string> text;
        int close_code = 0;
        std::string close_reason;
        bool overflow = false;  ///< the close is the queue's own: its client stopped reading
    };

    enum class Pushed {
        queued,
        refused,   ///< routed, and over half the bound: the sender gets recipient-busy
        overflow,  ///< the server's own, over the bound: the queue now ends with 1008 "too slow"
        ignored,   ///< the queue has ended (closing, or its writer is gone)
    };

    /** `wake` runs on `writer`'s thread, queued, whenever items wait and no wake is pending. */
    OutgoingQueue(std::size_t max_bytes, QObject* writer, std::function<void()> wake)
        : max_bytes_(max_bytes), writer_(writer), wake_(std::move(wake)) {}

    Pushed push(std::shared_ptr<const std::string> text, bool routed) {
        std::lock_guard lock(mutex_);
        if (ended_ || !writer_) return Pushed::ignored;
        const std::size_t held = queued_bytes_ + unsent_;
        const std::size_t limit = routed ? max_bytes_ / 2 : max_bytes_;
        if (held > 0 && held + text->size() > limit) {
            if (routed) return Pushed::refused;
            items_.clear();
            queued_bytes_ = 0;
            end_locked(1008, "too slow", true);
            return Pushed::overflow;
        }
        queued_bytes_ += text->size();
        items_.push_back({std::move(text), 0, {}, false});
        wake_locked();
        return Pushed::queued;
    }

    /** Ends the queue with a close frame after what is queued. False when it had already ended. */
    bool close(int code, std::string reason) {
        std::lock_guard lock(mutex_);
        if (ended_ || !writer_) return false;
        end_locked(code, std::move(reason), false);
        return true;
    }

    /** On the writer's thread: everything waiting, in push order. Its bytes count as unsent until reported. */
    std::vector<Item> take() {
        std::lock_guard lock(mutex_);
        wake_pending_ = false;
        unsent_ += queued_bytes_;
        queued_bytes_ = 0;
        return std::exchange(items_, {});
    }

    /** On the writer's thread: the bytes the socket has not written yet. */
    void set_unsent(std::size_t bytes) {
        std::lock_guard lock(mutex_);
        unsent_ = bytes;
    }

    std::size_t unsent() const {
        std::lock_guard lock(mutex_);
        return unsent_;
    }

    /**
     * On the writer's thread, first thing when an event reaches the writer:
     * takes the lock every wake was posted under. Qt's event queue orders the
     * post before the delivery, but inside uninstrumented Qt, where
     * ThreadSanitizer cannot see it; this lock shows it that order.
     */
    void synchronize() const { std::lock_guard lock(mutex_); }

    /** On the writer's thread, before the writer is destroyed: every later push is ignored. */
    void detach() {
        std::lock_guard lock(mutex_);
        writer_ = nullptr;
        ended_ = true;
        items_.clear();
    }

private:
    void end_locked(int code, std::string reason, bool overflow) {
        ended_ = true;
        items_.push_back({nullptr, code, std::move(reason), overflow});
        wake_locked();
    }

    // Under the lock, so that detach() cannot destroy the writer meanwhile
    // (Qt drops a queued call whose receiver is destroyed before it runs),
    // and so that synchronize() orders the post before its delivery.
    void wake_locked() {
        if (wake_pending_ || !writer_) return;
        wake_pending_ = true;
        QMetaObject::invokeMethod(writer_, wake_, Qt::QueuedConnection);
    }

    const std::size_t max_bytes_;
    mutable std::mutex mutex_;
    QObject* writer_;
    std::function<void()> wake_;
    std::vector<Item> items_;
    std::size_t queued_bytes_ = 0;
    std::size_t unsent_ = 0;
    bool ended_ = false;
    bool wake_pending_ = false;
};

}  // namespace switchboard::qt::detail

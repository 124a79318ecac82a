// The HostPeer's own thread: a GLib main loop on a GMainContext of its own.
// Private to switchboard::peer.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <glib.h>

namespace switchboard::peer::detail {

/**
 * Where work for the loop thread is handed in, from any thread. It outlives
 * the loop when something else (a GStreamer callback) still holds it:
 * posts after close() are dropped.
 */
class Mailbox {
public:
    explicit Mailbox(GMainContext* context);
    ~Mailbox();
    Mailbox(const Mailbox&) = delete;
    Mailbox& operator=(const Mailbox&) = delete;

    /** Runs `work` on the loop thread, later (never inside this call), in posting order. */
    void post(std::function<void()> work);
    /** Runs `work` on the loop thread after `delay`; returns the source for cancel(). */
    GSource* post_after(std::chrono::milliseconds delay, std::function<void()> work);
    /** Drops a timer from post_after that has not fired; call on the loop thread only. */
    static void cancel(GSource* timer);
    /** No more posts: work posted from now on is dropped. */
    void close();

private:
    void attach(GSource* source, std::function<void()> work);
    std::mutex mutex_;
    GMainContext* context_;
    bool open_ = true;
};

/** A GLib main loop running on a thread it owns. */
class Loop {
public:
    Loop();
    /** Stops the thread if stop() was not called. */
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    const std::shared_ptr<Mailbox>& mailbox() const noexcept { return mailbox_; }
    bool on_loop_thread() const noexcept { return std::this_thread::get_id() == thread_.get_id(); }

    /**
     * Runs `last` on the loop thread, then stops the loop and joins the
     * thread; work posted later is dropped. Idempotent; not from the loop thread.
     */
    void stop(std::function<void()> last = {});

private:
    GMainContext* context_;
    GMainLoop* loop_;
    std::shared_ptr<Mailbox> mailbox_;
    std::thread thread_;
};

}  // namespace switchboard::peer::detail

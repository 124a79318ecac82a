#include "glib_loop.hpp"

#include <future>
#include <stdexcept>

namespace switchboard::peer::detail {
namespace {

gboolean run_once(gpointer data) {
    (*static_cast<std::function<void()>*>(data))();
    return G_SOURCE_REMOVE;
}

void delete_work(gpointer data) {
    delete static_cast<std::function<void()>*>(data);
}

}  // namespace

Mailbox::Mailbox(GMainContext* context) : context_(g_main_context_ref(context)) {}

Mailbox::~Mailbox() {
    g_main_context_unref(context_);
}

void Mailbox::attach(GSource* source, std::function<void()> work) {
    g_source_set_callback(source, run_once, new std::function<void()>(std::move(work)), delete_work);
    {
        std::lock_guard lock(mutex_);
        if (open_) g_source_attach(source, context_);
    }
}

void Mailbox::post(std::function<void()> work) {
    GSource* source = g_idle_source_new();
    // Above the default idle priority, so that posts run in order with timers.
    g_source_set_priority(source, G_PRIORITY_DEFAULT);
    attach(source, std::move(work));
    g_source_unref(source);
}

GSource* Mailbox::post_after(std::chrono::milliseconds delay, std::function<void()> work) {
    GSource* source = g_timeout_source_new(static_cast<guint>(delay.count()));
    attach(source, std::move(work));
    // The caller keeps this reference until it cancels or the timer fired.
    return source;
}

void Mailbox::cancel(GSource* timer) {
    if (!timer) return;
    g_source_destroy(timer);
    g_source_unref(timer);
}

void Mailbox::close() {
    std::lock_guard lock(mutex_);
    open_ = false;
}

Loop::Loop()
    : context_(g_main_context_new()),
      loop_(g_main_loop_new(context_, FALSE)),
      mailbox_(std::make_shared<Mailbox>(context_)) {
    std::promise<void> running;
    auto started = running.get_future();
    thread_ = std::thread([this, &running] {
        g_main_context_push_thread_default(context_);
        running.set_value();
        g_main_loop_run(loop_);
        g_main_context_pop_thread_default(context_);
    });
    started.wait();
}

Loop::~Loop() {
    stop();
    g_main_loop_unref(loop_);
    g_main_context_unref(context_);
}

void Loop::stop(std::function<void()> last) {
    if (!thread_.joinable()) return;
    if (on_loop_thread()) throw std::logic_error("the host peer's loop cannot stop itself");
    mailbox_->post([this, last = std::move(last)] {
        if (last) last();
        mailbox_->close();
        g_main_loop_quit(loop_);
    });
    thread_.join();
}

}  // namespace switchboard::peer::detail

// The Qt adapter as the conformance kit (and the other tests here) want a
// server: on 127.0.0.1, on an event loop of its own.
//
// The pattern, for any adapter that must live on a Qt event loop: the kit
// calls `start` and `stop` on its own thread, which runs no Qt event loop
// (and must not: the kit blocks it while its clients wait). So the adapter
// lives on a thread with an event loop of its own, and `start`/`stop` hand work to that
// thread and wait for it:
//   - start: start a thread running a QEventLoop, then on it construct the
//     Adapter (so that it and every socket it makes belong to that thread)
//     and listen; return the port;
//   - stop: Adapter::close_all (callable from any thread) with a `done`
//     callback that fulfils a promise; wait for it (bounded); then on the
//     loop's thread destroy the Adapter; quit the loop and join the thread.
// One QCoreApplication exists for the whole process (tests/qt/main.cpp),
// created on the main thread and never exec'd: Qt wants one before any
// event loop runs. Results cross threads through std::promise, which
// ThreadSanitizer sees; Qt's own event queue it cannot (see Context).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

#include <QtCore/QCoreApplication>
#include <QtCore/QEventLoop>
#include <QtCore/QObject>

#include <switchboard/qt.hpp>
#include <switchboard/testing/conformance.hpp>

namespace switchboard::test {

/**
 * A thread running a Qt event loop, and a way to run code on it and wait.
 * A std::thread rather than a QThread: Qt adopts it (QThread::currentThread)
 * all the same, and its join is one ThreadSanitizer sees (QThread::wait
 * synchronizes inside Qt, where it cannot look).
 */
class QtLoop {
public:
    QtLoop() {
        std::promise<Context*> started;
        auto context = started.get_future();
        thread_ = std::thread([this, &started] {
            QEventLoop loop;
            Context here(mutex_, loop);
            started.set_value(&here);
            loop.exec();
            // What was deleteLater'd last, before the thread ends.
            QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
        });
        context_ = context.get();
    }
    ~QtLoop() {
        run([this] { context_->loop.quit(); });
        thread_.join();
    }
    QtLoop(const QtLoop&) = delete;
    QtLoop& operator=(const QtLoop&) = delete;

    /** Runs `f` on the loop's thread and returns what it returned (or throws what it threw); at most 30 s. */
    template <class F>
    auto run(F f) -> decltype(f()) {
        using R = decltype(f());
        std::promise<R> done;
        auto result = done.get_future();
        {
            std::lock_guard lock(mutex_);  // see Context::event
            QMetaObject::invokeMethod(
                context_,
                [&] {
                    try {
                        if constexpr (std::is_void_v<R>) {
                            f();
                            done.set_value();
                        } else {
                            done.set_value(f());
                        }
                    } catch (...) {
                        done.set_exception(std::current_exception());
                    }
                },
                Qt::QueuedConnection);
        }
        if (result.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
            throw std::runtime_error("the Qt thread did not answer within 30 s");
        return result.get();
    }

private:
    /**
     * Where run() posts to, on the loop's thread. Qt's event queue orders a
     * post before its delivery inside uninstrumented Qt, where
     * ThreadSanitizer cannot see it; taking the lock the post was made
     * under, first thing, shows it the order.
     */
    struct Context : QObject {
        Context(std::mutex& mutex, QEventLoop& loop) : mutex(mutex), loop(loop) {}
        bool event(QEvent* event) override {
            { std::lock_guard lock(mutex); }
            return QObject::event(event);
        }
        std::mutex& mutex;
        QEventLoop& loop;
    };

    std::mutex mutex_;
    std::thread thread_;
    Context* context_ = nullptr;
};

/** The Qt adapter listening on 127.0.0.1 on a QtLoop, as the kit wants a target. */
class QtServer {
public:
    std::uint16_t start(Hub& hub, const testing::TransportSettings& settings) {
        loop_ = std::make_unique<QtLoop>();
        auto port = loop_->run([&] {
            adapter_ = std::make_unique<qt::Adapter>(hub, settings);
            if (auto error = adapter_->listen(QHostAddress(QHostAddress::LocalHost), 0))
                throw std::runtime_error(error->message);
            return adapter_->port();
        });
        return port;
    }

    void stop() {
        if (!loop_) return;
        std::promise<void> stopped;
        auto done = stopped.get_future();
        adapter_->close_all(close_code::going_away, [&] { stopped.set_value(); });
        // close_all is bounded by the handshake timeout (the kit's is at most 2 s).
        const bool in_time = done.wait_for(std::chrono::seconds(15)) == std::future_status::ready;
        loop_->run([&] { adapter_.reset(); });
        loop_.reset();
        if (!in_time) throw std::runtime_error("close_all did not finish within 15 s");
    }

    ~QtServer() {
        if (loop_ && adapter_) loop_->run([&] { adapter_.reset(); });
    }

    qt::Adapter& adapter() { return *adapter_; }
    QtLoop& loop() { return *loop_; }

private:
    std::unique_ptr<QtLoop> loop_;
    std::unique_ptr<qt::Adapter> adapter_;
};

}  // namespace switchboard::test

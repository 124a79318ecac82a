// Internal to switchboard_beast: a connection's keep-alive clock.
#pragma once

#include <chrono>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

namespace switchboard::beast::detail {

/**
 * Every half idle timeout the connection is looked at: one heard from since
 * the last look goes quiet; a quiet one is to be pinged; one still silent at
 * the next look (not even the pong) is to be dropped. Strand-only.
 */
template <class Executor>
class KeepAlive {
public:
    enum class Verdict { fine, ping, drop };

    explicit KeepAlive(const Executor& executor) : timer_(executor) {}

    /** The client sent something. */
    void heard() noexcept { liveness_ = Liveness::heard; }

    /**
     * The next look in half of `idle` (none when `idle` is 0): `look()` then
     * runs, unless cancelled first, and asks verdict() what to do. `look`
     * keeps the owner of this clock alive; it is all the pending wait holds.
     */
    template <class Look>
    void arm(std::chrono::milliseconds idle, Look look) {
        if (idle.count() <= 0) return;
        timer_.expires_after(idle / 2);
        timer_.async_wait([look = std::move(look)](boost::beast::error_code ec) mutable {
            if (!ec) look();
        });
    }

    /** At a look: what the connection did since the last one says what to do now. */
    Verdict verdict() noexcept {
        switch (liveness_) {
            case Liveness::heard:
                liveness_ = Liveness::quiet;
                return Verdict::fine;
            case Liveness::quiet:
                liveness_ = Liveness::pinged;
                return Verdict::ping;
            case Liveness::pinged:
                break;
        }
        return Verdict::drop;
    }

    void cancel() { timer_.cancel(); }

private:
    enum class Liveness { heard, quiet, pinged };

    boost::asio::basic_waitable_timer<std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>,
                                      Executor>
        timer_;
    Liveness liveness_ = Liveness::heard;
};

}  // namespace switchboard::beast::detail

// Internal to switchboard_beast: Beast's part of a WebSocket, the 101 that
// accepts an admitted upgrade. Once it is written the session speaks RFC
// 6455 itself and this is dropped.
#pragma once

#include <chrono>
#include <string>
#include <utility>

#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <switchboard/beast.hpp>

namespace switchboard::beast::detail {

template <class Next>
class UpgradeResponse {
public:
    /** `early_frames`: bytes the client sent behind its request, before our 101. */
    UpgradeResponse(HttpRequest request, Admission admission, std::string early_frames, Next& stream)
        : admission(std::move(admission)),
          early_frames(std::move(early_frames)),
          request_(std::move(request)),
          ws_(stream) {}

    /** Writes the 101 (within `timeout`); `done(error_code)` when it is out or failed. */
    template <class Done>
    void write(std::chrono::milliseconds timeout, Done done) {
        namespace websocket = boost::beast::websocket;
        websocket::stream_base::timeout timeouts;
        timeouts.handshake_timeout = timeout;
        timeouts.idle_timeout = websocket::stream_base::none();
        timeouts.keep_alive_pings = false;
        ws_.set_option(timeouts);
        ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
            response.set(boost::beast::http::field::server, "switchboard");
        }));
        ws_.async_accept(request_, std::move(done));
    }

    Admission admission;
    const std::string early_frames;

private:
    HttpRequest request_;
    boost::beast::websocket::stream<Next&, false> ws_;
};

}  // namespace switchboard::beast::detail

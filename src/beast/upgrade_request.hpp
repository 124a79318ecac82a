// Internal to switchboard_beast: the checks an HTTP request must pass before
// it is answered, beyond what Beast's parser enforces.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>

#include <switchboard/beast.hpp>

#include "../detail/websocket_key.hpp"

namespace switchboard::beast::detail {

/** Why a request must be refused with 400 Bad Request, or nullopt when it may be answered. */
struct BadRequest {
    std::string reason;
};

/** An HTTP/1.1 request must name its Host (RFC 9112 3.2). */
inline std::optional<BadRequest> missing_host(const HttpRequest& request) {
    if (request.version() >= 11 && request.find(boost::beast::http::field::host) == request.end())
        return BadRequest{"an HTTP/1.1 request needs a Host header"};
    return std::nullopt;
}

/** A WebSocket upgrade request: Host, and a Sec-WebSocket-Key of 16 bytes. */
inline std::optional<BadRequest> bad_upgrade(const HttpRequest& request) {
    if (auto bad = missing_host(request)) return bad;
    auto key = request[boost::beast::http::field::sec_websocket_key];
    if (!switchboard::detail::valid_websocket_key(std::string_view(key.data(), key.size())))
        return BadRequest{"Sec-WebSocket-Key must be 16 bytes in base64"};
    return std::nullopt;
}

}  // namespace switchboard::beast::detail

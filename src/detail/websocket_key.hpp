// Shared by the bundled adapters: RFC 6455 4.2.1 asks a server to refuse an
// upgrade whose Sec-WebSocket-Key is not the base64 of 16 bytes (HTTP 400).
#pragma once

#include <string_view>

namespace switchboard::detail {

/** True when `key` is the base64 of exactly 16 bytes: 22 characters, then "==". */
inline bool valid_websocket_key(std::string_view key) noexcept {
    auto base64 = [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    };
    if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
    for (std::size_t i = 0; i < 22; ++i)
        if (!base64(key[i])) return false;
    // The last character carries 2 bits of the 16th byte; its other 4 bits must be zero.
    char last = key[21];
    return last == 'A' || last == 'Q' || last == 'g' || last == 'w';
}

}  // namespace switchboard::detail

// %XX decoding, for the places that read encoded text: request paths and
// query values (the bundled server), the --redis URL, display names.
// Private to the library and the bundled server.
#pragma once

#include <string>
#include <string_view>

namespace switchboard::detail {

/** The value of one hex digit, or -1. */
inline int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

struct PercentDecoding {
    bool plus_is_space = false;  ///< '+' means a space (HTML forms, URLSearchParams)
    bool allow_nul = true;       ///< false: %00 is refused
};

/** `in` with its %XX escapes decoded into `out`; false on a malformed escape (or a refused %00). */
inline bool percent_decode(std::string_view in, std::string& out, PercentDecoding how = {}) {
    out.clear();
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '+' && how.plus_is_space) {
            out += ' ';
        } else if (c != '%') {
            out += c;
        } else {
            int high = i + 2 < in.size() ? hex_digit(in[i + 1]) : -1;
            int low = high < 0 ? -1 : hex_digit(in[i + 2]);
            if (low < 0 || (!how.allow_nul && high == 0 && low == 0)) return false;
            out += static_cast<char>(high * 16 + low);
            i += 2;
        }
    }
    return true;
}

}  // namespace switchboard::detail

// Comparing secrets (resume tokens, the admin token) without telling, by
// how long it takes, where they differ. Private to the library and the
// bundled server.
#pragma once

#include <string_view>

namespace switchboard::detail {

/** a == b, in a time that depends only on their lengths. */
inline bool equal_in_constant_time(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

}  // namespace switchboard::detail

// ASCII case folding and HTTP whitespace, for header names, header lists and
// file extensions (never for user text). Private to the library.
#pragma once

#include <string>
#include <string_view>

namespace switchboard::detail {

constexpr char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/** True when `a` and `b` are equal but for the case of ASCII letters. */
constexpr bool equal_ignoring_ascii_case(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

/** `s` without the spaces and tabs around it (HTTP's optional whitespace, RFC 9110 5.6.3). */
constexpr std::string_view trim_http_whitespace(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

/** `text` with ASCII letters in lower case. */
inline std::string ascii_lowercase(std::string text) {
    for (auto& c : text)
        c = ascii_lower(c);
    return text;
}

}  // namespace switchboard::detail

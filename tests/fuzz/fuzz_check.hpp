// What every fuzz target uses to fail: print what was expected and what was
// seen, then abort, so libFuzzer saves the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace switchboard::fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* condition, const std::string& detail) {
    std::fprintf(stderr, "\n%s:%d: check failed: %s\n", file, line, condition);
    if (!detail.empty()) std::fprintf(stderr, "  %s\n", detail.c_str());
    std::fflush(stderr);
    std::abort();
}

/** `text` with every byte outside printable ASCII as \xNN, for failure messages. */
inline std::string printable(std::string_view text, std::size_t max = 600) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < max; ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += digits[c >> 4];
            out += digits[c & 15];
        }
    }
    if (text.size() > max) out += "... (" + std::to_string(text.size()) + " bytes)";
    return out;
}

}  // namespace switchboard::fuzz

/** Abort with `detail` (a std::string expression, evaluated only on failure) unless `condition` holds. */
#define FUZZ_CHECK(condition, detail)                                                          \
    do {                                                                                       \
        if (!(condition)) ::switchboard::fuzz::fail(__FILE__, __LINE__, #condition, (detail)); \
    } while (0)

#include "detail/client_name.hpp"

#include <fmt/format.h>

#include "detail/percent_decode.hpp"
#include "detail/utf8.hpp"

namespace switchboard::detail {
namespace {

/** The code point starting at `text[i]` of valid UTF-8, and its length in `n`. */
char32_t code_point(std::string_view text, std::size_t i, std::size_t& n) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
    unsigned c = byte(0);
    if (c < 0x80) return n = 1, c;
    if (c < 0xe0) return n = 2, ((c & 0x1f) << 6) | (byte(1) & 0x3f);
    if (c < 0xf0) return n = 3, ((c & 0x0f) << 12) | ((byte(1) & 0x3f) << 6) | (byte(2) & 0x3f);
    return n = 4, ((c & 0x07) << 18) | ((byte(1) & 0x3f) << 12) | ((byte(2) & 0x3f) << 6) | (byte(3) & 0x3f);
}

/** Characters that would let a name disguise itself or break the line it is shown on. */
bool forbidden(char32_t cp) {
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||  // C0, DEL, C1
           cp == 0x2028 || cp == 0x2029 ||             // line and paragraph separators
           (cp >= 0x202a && cp <= 0x202e) ||           // bidirectional embeddings and overrides
           (cp >= 0x2066 && cp <= 0x2069) ||           // bidirectional isolates
           cp == 0xfeff;                               // byte order mark
}

}  // namespace

std::optional<std::string> parse_client_name(std::string_view raw, std::size_t max_length, std::string& why) {
    std::string name;
    if (!percent_decode(raw, name, {true, true})) {
        why = "the name is not percent-encoded correctly";
        return std::nullopt;
    }
    if (!valid_utf8(name)) {
        why = "the name is not valid UTF-8";
        return std::nullopt;
    }
    auto first = name.find_first_not_of(' ');
    if (first == std::string::npos) {
        why = "the name is empty";
        return std::nullopt;
    }
    name = name.substr(first, name.find_last_not_of(' ') - first + 1);
    std::size_t length = 0;
    for (std::size_t i = 0, n = 0; i < name.size(); i += n, ++length) {
        auto cp = code_point(name, i, n);
        if (forbidden(cp)) {
            why = fmt::format("the name holds the control character U+{:04X}", static_cast<std::uint32_t>(cp));
            return std::nullopt;
        }
    }
    if (length > max_length) {
        why = fmt::format("the name has {} characters; the limit is {}", length, max_length);
        return std::nullopt;
    }
    return name;
}

}  // namespace switchboard::detail

// client_name_fuzz: the display name a client proposes in `?name=`
// (src/detail/client_name.hpp), on any bytes.
//
// An accepted name is valid UTF-8, not empty, has no space at either end,
// at most 16 code points (the limit given here) and none of the forbidden
// characters; percent-encoding every one of its bytes and parsing again
// gives the same name. A refusal always says why.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "detail/client_name.hpp"
#include "detail/utf8.hpp"
#include "fuzz_check.hpp"

using switchboard::fuzz::printable;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view raw(reinterpret_cast<const char*>(data), size);
    std::string why;
    auto name = switchboard::detail::parse_client_name(raw, 16, why);
    if (!name) {
        FUZZ_CHECK(!why.empty(), "refused without a reason: " + printable(raw));
        return 0;
    }
    FUZZ_CHECK(switchboard::detail::valid_utf8(*name), "not UTF-8: " + printable(*name));
    FUZZ_CHECK(!name->empty() && name->front() != ' ' && name->back() != ' ', "not trimmed: " + printable(*name));
    std::size_t points = 0;
    for (std::size_t i = 0; i < name->size(); ++i) {
        auto c = static_cast<unsigned char>((*name)[i]);
        if ((c & 0xc0) != 0x80) ++points;
        FUZZ_CHECK(c >= 0x20 && c != 0x7f, "a control byte in " + printable(*name));
    }
    FUZZ_CHECK(points <= 16, "too long: " + printable(*name));
    for (const char* bad : {"\xc2\x80", "\xc2\x9f", "\xe2\x80\xa8", "\xe2\x80\xae", "\xe2\x81\xa6", "\xef\xbb\xbf"})
        FUZZ_CHECK(name->find(bad) == std::string::npos, "a forbidden character in " + printable(*name));
    static const char digits[] = "0123456789ABCDEF";
    std::string encoded;
    for (unsigned char c : *name) {
        encoded += '%';
        encoded += digits[c >> 4];
        encoded += digits[c & 15];
    }
    std::string again_why;
    auto again = switchboard::detail::parse_client_name(encoded, 16, again_why);
    FUZZ_CHECK(again && *again == *name, "re-encoded, " + printable(*name) + " reads differently: " + again_why);
    return 0;
}

// tokens_fuzz: switchboard::tokens::verify on any text (src/tokens/jwt.cpp).
//
// Input: the token text. Checks:
//   - verify() never throws or crashes (ASan, UBSan), and refuses with 401
//     or 403 and a reason; an accepted token has a non-empty subject and
//     grants the room, and its claims minted again verify;
//   - claims made from the input's bytes (any subject text, either room,
//     with and without nbf) come back unchanged through mint() and verify().
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <variant>

#include <switchboard/tokens.hpp>

#include "fuzz_check.hpp"

namespace {

namespace tokens = switchboard::tokens;
using switchboard::fuzz::printable;

constexpr std::int64_t now = 1'800'000'000;
constexpr std::string_view secret = "fuzzing secret";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    auto outcome = tokens::verify(text, secret, "lobby", now, 5);
    if (auto* refusal = std::get_if<tokens::Refusal>(&outcome)) {
        FUZZ_CHECK(refusal->status == 401 || refusal->status == 403, "status " + std::to_string(refusal->status));
        FUZZ_CHECK(!refusal->reason.empty(), "a refusal without a reason for " + printable(text));
    } else {
        auto& claims = std::get<tokens::Claims>(outcome);
        FUZZ_CHECK(!claims.subject.empty(), "accepted without a subject: " + printable(text));
        FUZZ_CHECK(claims.room == "lobby" || claims.room == "*", "accepted for another room: " + printable(text));
        auto again = tokens::verify(tokens::mint(claims, secret), secret, "lobby", now, 5);
        FUZZ_CHECK(std::holds_alternative<tokens::Claims>(again), "re-minted claims refused: " + printable(text));
    }
    // Claims from the input's bytes round-trip through mint and verify.
    tokens::Claims made;
    made.subject = text.empty() ? "x" : text.substr(0, 40);
    made.room = size % 2 ? "*" : "lobby";
    made.expires = now + 1 + static_cast<std::int64_t>(size);
    if (size % 3 == 0) made.not_before = now - static_cast<std::int64_t>(size);
    std::string minted;
    try {
        minted = tokens::mint(made, secret);
    } catch (const std::invalid_argument&) {
        // Only for text that is not UTF-8 (found by this target: mint() threw nlohmann's type_error).
        bool utf8 = true;
        try {
            (void)nlohmann::json(made.subject).dump();
        } catch (const nlohmann::json::type_error&) {
            utf8 = false;
        }
        FUZZ_CHECK(!utf8, "mint() refused a UTF-8 subject: " + printable(made.subject));
        return 0;
    }
    auto back = tokens::verify(minted, secret, "lobby", now);
    FUZZ_CHECK(std::holds_alternative<tokens::Claims>(back), "a minted token was refused: " + printable(made.subject));
    auto& got = std::get<tokens::Claims>(back);
    FUZZ_CHECK(got.subject == made.subject && got.room == made.room && got.expires == made.expires &&
                   got.not_before == made.not_before,
               "claims changed on the way: " + printable(made.subject));
    return 0;
}

// HS256 JWTs with OpenSSL: see include/switchboard/tokens.hpp.
#include <switchboard/tokens.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <stdexcept>
#include <string>

namespace switchboard::tokens {
namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        unsigned n = static_cast<unsigned char>(bytes[i]) << 16 | static_cast<unsigned char>(bytes[i + 1]) << 8 |
                     static_cast<unsigned char>(bytes[i + 2]);
        for (int shift = 18; shift >= 0; shift -= 6)
            out += alphabet[(n >> shift) & 63];
    }
    if (i + 1 == bytes.size()) {
        unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
    } else if (i + 2 == bytes.size()) {
        unsigned n = static_cast<unsigned char>(bytes[i]) << 16 | static_cast<unsigned char>(bytes[i + 1]) << 8;
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += alphabet[(n >> 6) & 63];
    }
    return out;
}

/** Strict base64url without padding: nullopt for any other character, a dangling sextet or unused bits set. */
std::optional<std::string> unbase64url(std::string_view text) {
    if (text.size() % 4 == 1) return std::nullopt;
    std::string out;
    out.reserve(text.size() * 3 / 4);
    unsigned bits = 0, count = 0;
    for (char c : text) {
        auto v = alphabet.find(c);
        if (v == std::string_view::npos) return std::nullopt;
        bits = (bits << 6) | static_cast<unsigned>(v);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out += static_cast<char>((bits >> count) & 0xff);
        }
    }
    if ((bits & ((1u << count) - 1)) != 0) return std::nullopt;  // one spelling per token
    return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), digest, &length);
    return std::string(reinterpret_cast<const char*>(digest), length);
}

Refusal refuse(std::string reason, int status = 401) {
    return Refusal{status, std::move(reason)};
}

/** A claim that must be an integral number of seconds. */
std::optional<std::int64_t> seconds(const nlohmann::json& payload, const char* name) {
    auto it = payload.find(name);
    if (it == payload.end() || !it->is_number()) return std::nullopt;
    if (it->is_number_float()) {
        double d = it->get<double>();
        if (!(d > -1e15 && d < 1e15)) return std::nullopt;
        return static_cast<std::int64_t>(d);
    }
    if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
        return std::nullopt;
    return it->get<std::int64_t>();
}

}  // namespace

std::string mint(const Claims& claims, std::string_view secret) {
    nlohmann::ordered_json payload{{"sub", claims.subject}, {"room", claims.room}, {"exp", claims.expires}};
    if (claims.not_before) payload["nbf"] = *claims.not_before;
    if (claims.profile.is_object()) payload["profile"] = claims.profile;
    std::string text;
    try {
        text = payload.dump();
    } catch (const nlohmann::json::type_error&) {
        throw std::invalid_argument("a token's subject, room and profile must be valid UTF-8");
    }
    std::string signing_input = base64url(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url(text);
    return signing_input + "." + base64url(hmac_sha256(secret, signing_input));
}

std::variant<Claims, Refusal> verify(std::string_view token, std::string_view secret, std::string_view room,
                                     std::int64_t now, std::int64_t leeway) {
    if (token.empty()) return refuse("a token is required: connect with ?token=<JWT>");
    if (token.size() > 8192) return refuse("the token is longer than 8 KiB");
    auto first = token.find('.');
    auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
        return refuse("the token is not a JWT (three base64url parts separated by dots)");
    auto header_text = unbase64url(token.substr(0, first));
    auto payload_text = unbase64url(token.substr(first + 1, second - first - 1));
    auto signature = unbase64url(token.substr(second + 1));
    if (!header_text || !payload_text || !signature) return refuse("the token is not valid base64url");
    auto header = nlohmann::json::parse(*header_text, nullptr, false);
    if (!header.is_object()) return refuse("the token's header is not a JSON object");
    auto alg = header.find("alg");
    if (alg == header.end() || !alg->is_string()) return refuse("the token's header names no algorithm");
    if (*alg == "none") return refuse("unsigned tokens (alg none) are refused");
    if (*alg != "HS256") return refuse("the token's algorithm must be HS256, not " + alg->get<std::string>());
    auto expected = hmac_sha256(secret, token.substr(0, second));
    if (signature->size() != expected.size() || CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0)
        return refuse("the token's signature does not match");

    auto payload = nlohmann::json::parse(*payload_text, nullptr, false);
    if (!payload.is_object()) return refuse("the token's payload is not a JSON object");
    Claims claims;
    auto sub = payload.find("sub");
    if (sub == payload.end() || !sub->is_string() || sub->get_ref<const std::string&>().empty())
        return refuse("the token has no `sub` (a non-empty string)");
    claims.subject = *sub;
    auto granted = payload.find("room");
    if (granted == payload.end() || !granted->is_string()) return refuse("the token has no `room` (a string)");
    claims.room = *granted;
    auto exp = seconds(payload, "exp");
    if (!exp) return refuse("the token has no `exp` (seconds since the epoch)");
    claims.expires = *exp;
    if (payload.contains("nbf")) {
        claims.not_before = seconds(payload, "nbf");
        if (!claims.not_before) return refuse("the token's `nbf` is not a number of seconds");
    }
    if (auto profile = payload.find("profile"); profile != payload.end()) {
        if (!profile->is_object()) return refuse("the token's `profile` is not an object");
        claims.profile = *profile;
    }
    if (now >= claims.expires + leeway)
        return refuse("the token expired at " + std::to_string(claims.expires) + " (now " + std::to_string(now) + ")");
    if (claims.not_before && now + leeway < *claims.not_before)
        return refuse("the token is not valid before " + std::to_string(*claims.not_before));
    if (claims.room != "*" && claims.room != room)
        return refuse("the token grants " +
                          (claims.room.empty() ? std::string("the default room") : "room '" + claims.room + "'") +
                          ", not " +
                          (room.empty() ? std::string("the default room") : "room '" + std::string(room) + "'"),
                      403);
    return claims;
}

std::function<Verdict(const Handshake&)> authorizer(std::string secret, std::int64_t leeway) {
    return [secret = std::move(secret), leeway](const Handshake& handshake) {
        auto room = room_from_path(handshake.path).value_or(std::string());
        auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                       .count();
        auto outcome = verify(handshake.query_param("token"), secret, room, now, leeway);
        if (auto* refusal = std::get_if<Refusal>(&outcome)) return Verdict::deny(refusal->reason, refusal->status);
        return Verdict::allow(std::move(std::get<Claims>(outcome).profile));
    };
}

}  // namespace switchboard::tokens

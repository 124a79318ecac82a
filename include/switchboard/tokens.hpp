// Switchboard: access tokens (target switchboard::tokens;
// find_package(Switchboard COMPONENTS tokens); needs OpenSSL's libcrypto).
//
// A token is a JWT (RFC 7519) signed with HS256, the convention of the
// WebRTC ecosystem. Browsers cannot set headers on a WebSocket, so the
// client passes it in the query: ws://HOST/room/lobby?token=<JWT>. Claims:
//
//   sub      string, required: the application's identity of the user
//   room     string, required: the room it grants; "" the default room,
//            "*" any room
//   exp      number, required: expiry, seconds since the epoch
//   nbf      number, optional: not valid before, seconds since the epoch
//   profile  object, optional: public data about the user
//
// The application that signs users in mints tokens with the same secret
// (mint() here, or any JWT library); the hub checks them at the handshake:
//
//     hub.on_authorize(switchboard::tokens::authorizer(secret));
//
// A refused handshake gets HTTP 401 with the reason (no token, not a JWT,
// an algorithm other than HS256, `alg: none`, a bad signature, expired, not
// yet valid, a claim missing or of the wrong type), or 403 when the token is
// good but grants another room. The signature is compared in constant time.
//
// Why not a JWT library: Debian's libjwt (1.x) would pull in jansson for
// what is, with HS256 only, an HMAC and two base64url strings; OpenSSL's
// HMAC and CRYPTO_memcmp (constant time) are already a dependency of the
// Beast adapter. The parsing here is strict and fuzzed (tests/fuzz).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include <switchboard/connection.hpp>
#include <switchboard/hub.hpp>

namespace switchboard::tokens {

struct Claims {
    std::string subject;                     ///< sub
    std::string room;                        ///< "" default room, "*" any room
    std::int64_t expires = 0;                ///< exp, seconds since the epoch
    std::optional<std::int64_t> not_before;  ///< nbf
    nlohmann::json profile;                  ///< an object, or null when absent
};

/** Why a token was refused: HTTP 401 (bad or no credentials) or 403 (another room). */
struct Refusal {
    int status = 401;
    std::string reason;
};

/**
 * An HS256 JWT of `claims`, signed with `secret`. Throws
 * std::invalid_argument if the subject, room or profile is not valid UTF-8.
 */
std::string mint(const Claims& claims, std::string_view secret);

/**
 * Checks `token` against `secret`, for `room` (a room name as in
 * room_from_path), at `now` (seconds since the epoch), allowing `leeway`
 * seconds of clock difference on exp and nbf. The claims, or why not.
 */
std::variant<Claims, Refusal> verify(std::string_view token, std::string_view secret, std::string_view room,
                                     std::int64_t now, std::int64_t leeway = 0);

/**
 * An authorize hook (Hub::on_authorize) that refuses every handshake without
 * a valid token for its room in the `token` query parameter. The token's
 * `profile` becomes the user's public profile (Verdict::profile).
 */
std::function<Verdict(const Handshake&)> authorizer(std::string secret, std::int64_t leeway = 30);

}  // namespace switchboard::tokens

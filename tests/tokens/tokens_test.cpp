// Access tokens: what mint() writes verifies, and each way a token can be
// wrong is refused with its own reason and status.
#include <stdexcept>
#include <string>
#include <variant>

#include <switchboard/switchboard.hpp>
#include <switchboard/tokens.hpp>

#include "catch.hpp"

namespace tokens = switchboard::tokens;

namespace {

constexpr std::int64_t now = 1'800'000'000;
const std::string secret = "a secret of reasonable length";

tokens::Claims claims(std::string room = "lobby") {
    tokens::Claims c;
    c.subject = "alice";
    c.room = std::move(room);
    c.expires = now + 60;
    return c;
}

/** The refusal for `token` in room "lobby" (fails the test if it was accepted). */
tokens::Refusal refusal(const std::string& token, std::string_view room = "lobby") {
    auto outcome = tokens::verify(token, secret, room, now);
    REQUIRE(std::holds_alternative<tokens::Refusal>(outcome));
    return std::get<tokens::Refusal>(outcome);
}

/** base64url without padding, written from RFC 4648 for hand-made tokens. */
std::string b64(std::string_view text) {
    static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    unsigned bits = 0, count = 0;
    for (unsigned char ch : text) {
        bits = (bits << 8) | ch;
        count += 8;
        while (count >= 6) {
            count -= 6;
            out += alphabet[(bits >> count) & 63];
        }
    }
    if (count > 0) out += alphabet[(bits << (6 - count)) & 63];
    return out;
}

std::string part(const std::string& token, int index) {
    auto a = token.find('.'), b = token.find('.', a + 1);
    if (index == 0) return token.substr(0, a);
    if (index == 1) return token.substr(a + 1, b - a - 1);
    return token.substr(b + 1);
}

}  // namespace

TEST_CASE("a minted token verifies, with its claims", "[tokens]") {
    auto c = claims();
    c.not_before = now - 10;
    c.profile = {{"name", "Alice"}};
    auto outcome = tokens::verify(tokens::mint(c, secret), secret, "lobby", now);
    REQUIRE(std::holds_alternative<tokens::Claims>(outcome));
    auto& got = std::get<tokens::Claims>(outcome);
    CHECK(got.subject == "alice");
    CHECK(got.room == "lobby");
    CHECK(got.expires == now + 60);
    CHECK(got.not_before == now - 10);
    CHECK(got.profile["name"] == "Alice");
    // "*" grants every room, "" the default room only.
    CHECK(std::holds_alternative<tokens::Claims>(tokens::verify(tokens::mint(claims("*"), secret), secret, "x", now)));
    CHECK(std::holds_alternative<tokens::Claims>(tokens::verify(tokens::mint(claims(""), secret), secret, "", now)));
}

TEST_CASE("every refusal has its reason; only another room is 403", "[tokens]") {
    const auto good = tokens::mint(claims(), secret);
    CHECK(refusal("").reason.find("required") != std::string::npos);
    CHECK(refusal("abc").reason.find("not a JWT") != std::string::npos);
    CHECK(refusal("a.b.c.d").reason.find("not a JWT") != std::string::npos);
    CHECK(refusal("a*b.c.d").reason.find("base64url") != std::string::npos);
    CHECK(refusal(part(good, 0) + ".!!." + part(good, 2)).reason.find("base64url") != std::string::npos);

    const std::string payload = part(good, 1);
    auto none = refusal(b64(R"({"alg":"none","typ":"JWT"})") + "." + payload + ".");
    CHECK(none.reason.find("alg none") != std::string::npos);
    CHECK(none.status == 401);
    CHECK(refusal(b64(R"({"alg":"RS256"})") + "." + payload + "." + part(good, 2)).reason.find("must be HS256") !=
          std::string::npos);
    CHECK(refusal(b64(R"({"typ":"JWT"})") + "." + payload + "." + part(good, 2)).reason.find("no algorithm") !=
          std::string::npos);

    auto forged = refusal(tokens::mint(claims(), "another secret"));
    CHECK(forged.reason.find("signature") != std::string::npos);
    CHECK(forged.status == 401);
    // A changed payload with the old signature.
    auto other = tokens::mint(claims("*"), secret);
    CHECK(refusal(part(good, 0) + "." + part(other, 1) + "." + part(good, 2)).reason.find("signature") !=
          std::string::npos);

    auto expired = claims();
    expired.expires = now - 1;
    CHECK(refusal(tokens::mint(expired, secret)).reason.find("expired") != std::string::npos);
    auto early = claims();
    early.not_before = now + 100;
    CHECK(refusal(tokens::mint(early, secret)).reason.find("not valid before") != std::string::npos);
    auto nameless = claims();
    nameless.subject = "";
    CHECK(refusal(tokens::mint(nameless, secret)).reason.find("`sub`") != std::string::npos);

    auto room = refusal(good, "kitchen");
    CHECK(room.status == 403);
    CHECK(room.reason.find("grants room 'lobby', not room 'kitchen'") != std::string::npos);
    CHECK(refusal(tokens::mint(claims(""), secret), "lobby").status == 403);
}

TEST_CASE("the authorizer reads ?token= and answers 401 or 403 at admission", "[tokens]") {
    switchboard::Hub hub;
    hub.on_authorize(tokens::authorizer(secret));
    auto c = claims();
    c.expires = 4'102'444'800;  // 2100
    const auto token = tokens::mint(c, secret);
    auto handshake = [](std::string path, std::string query) {
        switchboard::Handshake h;
        h.path = std::move(path);
        h.query = std::move(query);
        return h;
    };
    CHECK(hub.admit(handshake("/room/lobby", "token=" + token)).status() == 101);
    CHECK(hub.admit(handshake("/room/lobby", "")).status() == 401);
    CHECK(hub.admit(handshake("/room/kitchen", "token=" + token)).status() == 403);
    auto refused = hub.admit(handshake("/room/lobby", "token=" + tokens::mint(c, "wrong")));
    CHECK(refused.status() == 401);
    CHECK(refused.reason().find("signature") != std::string::npos);
}

TEST_CASE("mint refuses claims that are not UTF-8 (found by tokens_fuzz)", "[tokens]") {
    auto c = claims();
    c.subject = "\xff\xfe";
    CHECK_THROWS_AS(tokens::mint(c, secret), std::invalid_argument);
}

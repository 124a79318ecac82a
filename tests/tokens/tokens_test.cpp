// Access tokens: what mint() writes verifies, and each way a token can be
// wrong is refused with its own reason and status.
#include <stdexcept>
#include <string>
#include <variant>

#include <switchboard/switchboard.hpp>
#include <switchboard/tokens.hpp>
#include <switchboard/turn.hpp>

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

TEST_CASE("every refusal has its reason, only another room is 403", "[tokens]") {
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

TEST_CASE("the token's profile is the user's profile, and its name beats the client's", "[tokens]") {
    switchboard::Options options;
    options.allow_client_names = true;
    switchboard::Hub hub(options);
    hub.on_authorize(tokens::authorizer(secret));
    auto c = claims("*");
    c.expires = 4'102'444'800;
    c.profile = {{"name", "Ann"}, {"role", "teacher"}};
    switchboard::Handshake h;
    h.path = "/room/lobby";
    h.query = "name=Impostor&token=" + tokens::mint(c, secret);
    CHECK(hub.admit(h).profile() == R"({"name":"Ann","role":"teacher"})");
    c.profile = nullptr;
    h.query = "name=Bo&token=" + tokens::mint(c, secret);
    CHECK(hub.admit(h).profile() == R"({"name":"Bo"})");
}

TEST_CASE("mint refuses claims that are not UTF-8 (found by tokens_fuzz)", "[tokens]") {
    auto c = claims();
    c.subject = "\xff\xfe";
    CHECK_THROWS_AS(tokens::mint(c, secret), std::invalid_argument);
}

TEST_CASE("TURN REST credentials are coturn's: expiry:user and base64 HMAC-SHA1", "[tokens][turn]") {
    // Computed independently: printf '%s' '1700000000:42' | openssl dgst -sha1 -hmac 'north' -binary | base64
    auto c = switchboard::turn::rest_credentials("north", "42", 1700000000);
    CHECK(c.username == "1700000000:42");
    CHECK(c.credential == "DWX3FI7DiPIpadEYQAZsnZBAagI=");
    CHECK(switchboard::turn::rest_credentials("south", "42", 1700000000).credential != c.credential);
}

TEST_CASE("the TURN hook gives each user fresh credentials beside the STUN servers", "[tokens][turn]") {
    auto hook = switchboard::turn::ice_servers({"stun:127.0.0.1:3478"}, {"turn:127.0.0.1:3478?transport=udp"}, "north",
                                               std::chrono::seconds(600));
    auto before =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto servers = hook(42, "lobby");
    REQUIRE(servers.size() == 2);
    CHECK(servers[0].urls == std::vector<std::string>{"stun:127.0.0.1:3478"});
    CHECK(servers[0].username.empty());
    CHECK(servers[1].urls == std::vector<std::string>{"turn:127.0.0.1:3478?transport=udp"});
    auto colon = servers[1].username.find(':');
    REQUIRE(colon != std::string::npos);
    CHECK(servers[1].username.substr(colon) == ":42");
    auto expiry = std::stoll(servers[1].username.substr(0, colon));
    CHECK(expiry >= before + 600);
    CHECK(expiry <= before + 602);
    CHECK(servers[1].credential == switchboard::turn::rest_credentials("north", "42", expiry).credential);
    CHECK(switchboard::turn::ice_servers({}, {}, "north")(1, "").empty());
    CHECK(switchboard::turn::ice_servers({"stun:x"}, {}, "north")(1, "").size() == 1);
}

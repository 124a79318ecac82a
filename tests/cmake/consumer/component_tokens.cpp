// switchboard::tokens links: a token minted here verifies here, and TURN
// credentials come out in coturn's shape.
#include <variant>

#include <switchboard/tokens.hpp>
#include <switchboard/turn.hpp>

int main() {
    switchboard::tokens::Claims claims;
    claims.subject = "alice";
    claims.room = "lobby";
    claims.expires = 4102444800;  // 2100-01-01
    auto token = switchboard::tokens::mint(claims, "secret");
    auto checked = switchboard::tokens::verify(token, "secret", "lobby", 1700000000);
    auto turn = switchboard::turn::rest_credentials("secret", "7", 4102444800);
    return std::holds_alternative<switchboard::tokens::Claims>(checked) && turn.username == "4102444800:7" ? 0 : 1;
}

// switchboard::tokens links: a token minted here verifies here.
#include <variant>

#include <switchboard/tokens.hpp>

int main() {
    switchboard::tokens::Claims claims;
    claims.subject = "alice";
    claims.room = "lobby";
    claims.expires = 4102444800;  // 2100-01-01
    auto token = switchboard::tokens::mint(claims, "secret");
    auto checked = switchboard::tokens::verify(token, "secret", "lobby", 1700000000);
    return std::holds_alternative<switchboard::tokens::Claims>(checked) ? 0 : 1;
}

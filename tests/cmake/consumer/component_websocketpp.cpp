#include <switchboard/websocketpp.hpp>

int main() {
    switchboard::Hub hub;
    switchboard::websocketpp::Server server;
    switchboard::websocketpp::Adapter adapter(hub, server);
    return 0;
}

#include <switchboard/beast.hpp>

int main() {
    switchboard::Hub hub;
    switchboard::beast::Adapter adapter(hub);
    return 0;
}

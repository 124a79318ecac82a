// Drives a hub in-process and prints what every user receives: a readable
// transcript of the signalling protocol, no sockets involved.
#include <cstdio>

#include <switchboard/switchboard.hpp>

#include "../common/printing_connection.hpp"

int main() {
    using switchboard::Hub;
    Hub hub;

    std::printf("== Two users meet in the default room\n");
    auto alice = ExampleUser::join(hub, "alice");
    auto bob = ExampleUser::join(hub, "bob");

    std::printf("\n== The newcomer offers, the other answers; the server swaps `to` for `from`\n");
    bob.say(hub, R"({"type":"peer-connect","to":1,"desc":{"type":"offer","sdp":"v=0\r\n..."}})");
    alice.say(hub, R"({"type":"peer-response","to":2,"desc":{"type":"answer","sdp":"v=0\r\n..."}})");
    bob.say(
        hub,
        R"({"type":"peer-candidate","to":1,"candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0"}})");
    bob.say(hub, R"({"type":"peer-candidate","to":1,"candidate":null})");

    std::printf("\n== Mistakes get an error and reach nobody\n");
    bob.say(hub, R"({"type":"peer-connect","to":99,"desc":{"type":"offer","sdp":""}})");
    bob.say(hub, R"({"type":"peer-connect","to":1,"desc":{"type":"hello"}})");
    bob.say(hub, R"({"type":"login","userId":1})");
    bob.say(hub, R"({not json)");

    std::printf("\n== Rooms keep users apart\n");
    auto carol = ExampleUser::join(hub, "carol", "/room/lobby");
    carol.say(hub, R"({"type":"peer-connect","to":1,"desc":{"type":"offer","sdp":""}})");

    std::printf("\n== Leaving tells the others\n");
    std::printf("bob disconnects\n");
    hub.leave(*bob.session);

    auto c = hub.counters();
    std::printf("\n== Counters: %llu users online in %llu rooms, %llu messages routed, %zu kinds of error\n",
                static_cast<unsigned long long>(c.connections_open), static_cast<unsigned long long>(c.rooms_open),
                static_cast<unsigned long long>(c.messages_routed), c.errors.size());
    return 0;
}

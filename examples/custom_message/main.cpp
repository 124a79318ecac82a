// Extending the protocol with your own message types, end to end.
//
//   file-offer  routable: a user offers a file to another user; the hub checks
//               it against the struct below and routes it like peer-connect.
//   room-info   host-handled: the server itself answers with the room's size.
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include <switchboard/switchboard.hpp>

#include "../common/printing_connection.hpp"

namespace chat {

// A typed message is a plain struct plus ADL to_json/from_json, exactly like
// the built-in ones in <switchboard/messages.hpp>.
struct FileOffer {
    std::string name;
    std::uint64_t size = 0;
};

void from_json(const nlohmann::json& j, FileOffer& m) {
    j.at("name").get_to(m.name);
    j.at("size").get_to(m.size);
    if (m.name.empty() || m.name.size() > 255) throw std::invalid_argument("`name` must be 1 to 255 characters");
}

struct RoomInfo {
    std::size_t users = 0;
};

void to_json(nlohmann::json& j, const RoomInfo& m) {
    j = {{"type", "room-info"}, {"users", m.users}};
}

struct RoomInfoRequest {};
void from_json(const nlohmann::json&, RoomInfoRequest&) {}

}  // namespace chat

int main() {
    switchboard::Hub hub;

    // Register before the hub admits anyone; a second registration of the same name throws.
    hub.add_routable_type<chat::FileOffer>("file-offer");

    // The host keeps its own view of who is where through the join/leave hooks.
    std::mutex mutex;
    std::map<std::string, std::set<switchboard::UserId>> rooms;
    hub.on_join([&](const switchboard::UserEvent& e) {
        std::lock_guard lock(mutex);
        rooms[e.room].insert(e.id);
    });
    hub.on_leave([&](const switchboard::UserEvent& e) {
        std::lock_guard lock(mutex);
        rooms[e.room].erase(e.id);
    });
    hub.add_host_type<chat::RoomInfoRequest>("room-info",
                                             [&](const switchboard::Request& request, const chat::RoomInfoRequest&) {
                                                 std::size_t users;
                                                 {
                                                     std::lock_guard lock(mutex);
                                                     users = rooms[request.room()].size();
                                                 }
                                                 request.reply(chat::RoomInfo{users});
                                             });

    auto ann = ExampleUser::join(hub, "ann");
    auto ben = ExampleUser::join(hub, "ben");

    std::printf("\n== A custom routable type travels like peer-connect\n");
    ben.say(hub, R"({"type":"file-offer","to":1,"name":"notes.txt","size":1200,"sha256":"9f86d0"})");

    std::printf("\n== ...and is checked by its from_json first\n");
    ben.say(hub, R"({"type":"file-offer","to":1,"name":"","size":1200})");
    ben.say(hub, R"({"type":"file-offer","to":1,"name":"a.txt","size":"big"})");

    std::printf("\n== A host-handled type is answered by the server\n");
    ann.say(hub, R"({"type":"room-info"})");

    std::printf("\n== Types nobody registered are refused\n");
    ann.say(hub, R"({"type":"file-revoke","to":2})");
    return 0;
}

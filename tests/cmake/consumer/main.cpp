#include <cstdio>

#include <switchboard/switchboard.hpp>

int main() {
    switchboard::Hub hub;
    switchboard::UserId seen = 1;
    auto host = hub.join_local({}, [&](const nlohmann::json& m) {
        if (m.at("type") == "login") seen = m.at("userId").get<switchboard::UserId>();
    });
    std::printf("switchboard %s: host joined as %llu\n", SWITCHBOARD_VERSION_STRING,
                static_cast<unsigned long long>(seen));
    return seen == switchboard::host_user_id ? 0 : 1;
}

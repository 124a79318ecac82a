// The server's own messages that carry users: `login` and presence. Written
// directly (the profiles inside are already compact JSON) rather than
// through a DOM; docs/protocol.md is their contract.
#include <charconv>

#include <fmt/format.h>

#include "detail/directory.hpp"

namespace switchboard::detail {

Payload presence_message(Presence what, UserId id, const Profile& profile) {
    if (what == Presence::left)
        return std::make_shared<const std::string>(fmt::format(R"({{"type":"user-left","userId":{}}})", id));
    return std::make_shared<const std::string>(
        fmt::format(R"({{"type":"user-joined","userId":{},"profile":{}}})", id, profile ? *profile : "{}"));
}

Payload login_message(UserId id, const Profile& profile, const std::vector<PresentUser>& present,
                      const LoginExtras& extras) {
    // Written by hand: this runs once per join with the whole room in it.
    auto append_id = [](std::string& out, UserId user) {
        char digits[20];
        out.append(digits, static_cast<std::size_t>(std::to_chars(digits, digits + sizeof digits, user).ptr - digits));
    };
    std::string out;
    std::size_t size = 128 + extras.ice_servers.size() + extras.resume_token.size() + (profile ? profile->size() : 2);
    for (auto& user : present)
        size += 48 + user.profile->size();
    out.reserve(size);
    out += R"({"type":"login","userId":)";
    append_id(out, id);
    out += R"(,"users":[)";
    for (std::size_t i = 0; i < present.size(); ++i) {
        if (i) out += ',';
        append_id(out, present[i].id);
    }
    out += R"(],"profile":)";
    out += profile ? *profile : "{}";
    out += R"(,"profiles":{)";
    for (std::size_t i = 0; i < present.size(); ++i) {
        if (i) out += ',';
        out += '"';
        append_id(out, present[i].id);
        out += R"(":)";
        out += *present[i].profile;
    }
    out += '}';
    if (!extras.ice_servers.empty()) {
        out += R"(,"iceServers":)";
        out += extras.ice_servers;
    }
    if (!extras.resume_token.empty()) {
        out += R"(,"resume":")";
        out += extras.resume_token;  // digits, '.', hex: nothing to escape
        out += '"';
    }
    if (extras.resumed) out += R"(,"resumed":true)";
    out += '}';
    return std::make_shared<const std::string>(std::move(out));
}

}  // namespace switchboard::detail

// The server's own messages that carry users: `login` and presence. Written
// directly (the profiles inside are already compact JSON) rather than
// through a DOM; docs/protocol.md is their contract.
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
    std::string out;
    std::size_t size = 128 + extras.ice_servers.size() + extras.resume_token.size();
    for (auto& user : present)
        size += 24 + user.profile->size();
    out.reserve(size);
    fmt::format_to(std::back_inserter(out), R"({{"type":"login","userId":{},"users":[)", id);
    for (std::size_t i = 0; i < present.size(); ++i)
        fmt::format_to(std::back_inserter(out), i ? ",{}" : "{}", present[i].id);
    fmt::format_to(std::back_inserter(out), R"(],"profile":{},"profiles":{{)", profile ? *profile : "{}");
    for (std::size_t i = 0; i < present.size(); ++i)
        fmt::format_to(std::back_inserter(out), R"({}"{}":{})", i ? "," : "", present[i].id, *present[i].profile);
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

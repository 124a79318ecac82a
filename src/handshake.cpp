#include <switchboard/connection.hpp>
#include <switchboard/hub.hpp>

namespace switchboard {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

bool room_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '~' || c == '-';
}

}  // namespace

std::string_view Handshake::header(std::string_view name) const noexcept {
    for (const auto& [key, value] : headers)
        if (iequals(key, name)) return value;
    return {};
}

std::string_view Handshake::query_param(std::string_view name) const noexcept {
    std::string_view rest = query;
    while (!rest.empty()) {
        auto amp = rest.find('&');
        auto pair = rest.substr(0, amp);
        auto eq = pair.find('=');
        if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        if (amp == std::string_view::npos) break;
        rest.remove_prefix(amp + 1);
    }
    return {};
}

std::optional<std::string> room_from_path(std::string_view path) {
    if (path == "/") return std::string();
    constexpr std::string_view prefix = "/room/";
    if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
    auto name = path.substr(prefix.size());
    if (name.empty() || name.size() > 64) return std::nullopt;
    for (char c : name)
        if (!room_char(c)) return std::nullopt;
    return std::string(name);
}

}  // namespace switchboard

#include <switchboard/connection.hpp>
#include <switchboard/hub.hpp>

#include <vector>

#include "detail/ascii.hpp"

namespace switchboard {
namespace {

using detail::equal_ignoring_ascii_case;
using detail::trim_http_whitespace;

bool room_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '~' || c == '-';
}

/** Splits `list` at commas and appends each trimmed, non-empty item. */
void split_list(std::string_view list, std::vector<std::string_view>& out) {
    while (!list.empty()) {
        auto comma = list.find(',');
        auto item = trim_http_whitespace(list.substr(0, comma));
        if (!item.empty()) out.push_back(item);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
}

/** A node of `for=` (RFC 7239 section 6): quotes, IPv6 brackets and the port removed. */
std::string_view forwarded_node(std::string_view node) {
    if (node.size() >= 2 && node.front() == '"' && node.back() == '"') node = node.substr(1, node.size() - 2);
    if (!node.empty() && node.front() == '[') {
        auto close = node.find(']');
        return close == std::string_view::npos ? node : node.substr(1, close - 1);
    }
    auto colon = node.find(':');
    return colon == std::string_view::npos ? node : node.substr(0, colon);
}

/** The `for=` nodes of every Forwarded header, in order. */
std::vector<std::string_view> forwarded_for(const Handshake& h) {
    std::vector<std::string_view> elements, out;
    for (const auto& [key, value] : h.headers)
        if (equal_ignoring_ascii_case(key, "Forwarded")) split_list(value, elements);
    for (auto element : elements) {
        while (!element.empty()) {
            auto semicolon = element.find(';');
            auto pair = trim_http_whitespace(element.substr(0, semicolon));
            if (pair.size() > 4 && equal_ignoring_ascii_case(pair.substr(0, 4), "for="))
                out.push_back(forwarded_node(pair.substr(4)));
            if (semicolon == std::string_view::npos) break;
            element.remove_prefix(semicolon + 1);
        }
    }
    return out;
}

}  // namespace

std::string client_address(const Handshake& handshake, const std::vector<std::string>& trusted_proxies) {
    auto trusted = [&](std::string_view address) {
        for (const auto& proxy : trusted_proxies)
            if (proxy == address) return true;
        return false;
    };
    if (!trusted(handshake.remote_address)) return handshake.remote_address;
    auto hops = forwarded_for(handshake);
    if (hops.empty())
        for (const auto& [key, value] : handshake.headers)
            if (equal_ignoring_ascii_case(key, "X-Forwarded-For")) split_list(value, hops);
    // Each proxy appends the address it got the request from: the last one
    // that is not a proxy of ours is the client; anything before it could be forged.
    for (auto it = hops.rbegin(); it != hops.rend(); ++it)
        if (!trusted(*it)) return std::string(*it);
    return hops.empty() ? handshake.remote_address : std::string(hops.front());
}

std::string_view Handshake::header(std::string_view name) const noexcept {
    for (const auto& [key, value] : headers)
        if (equal_ignoring_ascii_case(key, name)) return value;
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

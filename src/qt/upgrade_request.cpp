#include "upgrade_request.hpp"

#include <fmt/format.h>

#include <switchboard/transport.hpp>

#include "../detail/ascii.hpp"
#include "../detail/websocket_key.hpp"

namespace switchboard::qt::detail {
namespace {

using switchboard::detail::equal_ignoring_ascii_case;
using switchboard::detail::trim_http_whitespace;

/** RFC 9110 5.6.2: the characters of a token, as in a header name or a method. */
bool token_char(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s)
        if (!token_char(c)) return false;
    return true;
}

/** True when the comma-separated `list` holds `token` (ASCII case-insensitive). */
bool list_has(std::string_view list, std::string_view token) noexcept {
    while (!list.empty()) {
        auto comma = list.find(',');
        if (equal_ignoring_ascii_case(trim_http_whitespace(list.substr(0, comma)), token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

const char* reason_phrase(int status) noexcept {
    switch (status) {
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 426:
            return "Upgrade Required";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 503:
            return "Service Unavailable";
        default:
            return "Error";
    }
}

std::optional<Refusal> bad_request(std::string reason) {
    return Refusal{400, std::move(reason)};
}

}  // namespace

std::size_t request_head_length(std::string_view bytes) noexcept {
    auto end = bytes.find("\r\n\r\n");
    return end == std::string_view::npos ? 0 : end + 4;
}

std::string_view UpgradeRequest::header(std::string_view name) const noexcept {
    for (const auto& [key, value] : headers)
        if (equal_ignoring_ascii_case(key, name)) return value;
    return {};
}

std::optional<Refusal> parse_request_head(std::string_view head, UpgradeRequest& request) {
    auto line_end = head.find("\r\n");
    if (line_end == std::string_view::npos) return bad_request("not an HTTP request");
    // request-line = method SP request-target SP HTTP-version (RFC 9112 3)
    auto line = head.substr(0, line_end);
    auto first = line.find(' ');
    auto second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (second == std::string_view::npos) return bad_request("not an HTTP request line");
    auto method = line.substr(0, first);
    auto target = line.substr(first + 1, second - first - 1);
    auto version = line.substr(second + 1);
    if (!is_token(method) || target.empty() || target.find(' ') != std::string_view::npos)
        return bad_request("not an HTTP request line");
    if (version == "HTTP/1.1")
        request.version = 11;
    else if (version == "HTTP/1.0")
        request.version = 10;
    else
        return bad_request("not HTTP/1.0 or HTTP/1.1");
    request.method = std::string(method);
    request.target = std::string(target);

    head.remove_prefix(line_end + 2);
    while (!head.empty()) {
        line_end = head.find("\r\n");
        if (line_end == std::string_view::npos) return bad_request("a header line without CRLF");
        line = head.substr(0, line_end);
        head.remove_prefix(line_end + 2);
        if (line.empty()) break;  // the blank line that ends the head
        auto colon = line.find(':');
        // No whitespace before the colon, and no obsolete line folding (RFC 9112 5.1, 5.2).
        if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
            return bad_request("a malformed header line");
        request.headers.emplace_back(std::string(line.substr(0, colon)),
                                     std::string(trim_http_whitespace(line.substr(colon + 1))));
    }
    return std::nullopt;
}

std::optional<Refusal> check_upgrade(const UpgradeRequest& request) {
    if (request.method != "GET" || request.version < 11 || !list_has(request.header("Upgrade"), "websocket") ||
        !list_has(request.header("Connection"), "upgrade"))
        return bad_request("not a WebSocket upgrade");
    if (request.header("Host").empty()) return bad_request("an HTTP/1.1 request needs a Host header");
    if (!switchboard::detail::valid_websocket_key(request.header("Sec-WebSocket-Key")))
        return bad_request("Sec-WebSocket-Key must be 16 bytes in base64");
    if (request.header("Sec-WebSocket-Version") != "13") return Refusal{426, "only WebSocket version 13 is supported"};
    return std::nullopt;
}

Handshake make_handshake(const UpgradeRequest& request, std::string remote_address) {
    Handshake handshake;
    auto target = split_target(request.target);
    handshake.path = std::string(target.path);
    handshake.query = std::string(target.query);
    handshake.headers = request.headers;
    handshake.remote_address = std::move(remote_address);
    return handshake;
}

std::string refusal_response(const Refusal& refusal) {
    std::string extra = refusal.status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "";
    return fmt::format(
        "HTTP/1.1 {} {}\r\nServer: switchboard\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n"
        "{}Connection: close\r\n\r\n{}",
        refusal.status, reason_phrase(refusal.status), refusal.reason.size(), extra, refusal.reason);
}

}  // namespace switchboard::qt::detail

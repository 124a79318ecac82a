#include "redis_url.hpp"

#include <charconv>

#include "../detail/percent_decode.hpp"

namespace switchboard::redis::detail {
namespace {

bool unescape(std::string_view in, std::string& out) {
    return switchboard::detail::percent_decode(in, out);
}

template <class T>
bool number(std::string_view text, T& out, T min, T max) {
    if (text.empty()) return false;
    long long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) return false;
    out = static_cast<T>(value);
    return true;
}

bool host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_';
}

}  // namespace

std::optional<RedisUrl> parse_redis_url(std::string_view url, std::string& why) {
    constexpr std::string_view scheme = "redis://";
    if (url.substr(0, scheme.size()) != scheme) {
        why = "a Redis URL starts with redis:// (e.g. redis://127.0.0.1:6379/0)";
        return std::nullopt;
    }
    url.remove_prefix(scheme.size());
    RedisUrl out;
    auto slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    if (slash != std::string_view::npos) {
        auto db = url.substr(slash + 1);
        if (!db.empty() && !number(db, out.db, 0, 15)) {
            why = "the database after the host must be a number from 0 to 15";
            return std::nullopt;
        }
    }
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
        auto credentials = authority.substr(0, at);
        authority.remove_prefix(at + 1);
        auto colon = credentials.find(':');
        if (colon == std::string_view::npos) {
            why = "credentials in a Redis URL are [user]:password@";
            return std::nullopt;
        }
        if (!unescape(credentials.substr(0, colon), out.user) ||
            !unescape(credentials.substr(colon + 1), out.password)) {
            why = "a malformed %-escape in the user or password";
            return std::nullopt;
        }
    }
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) {
            why = "an IPv6 host needs its closing ]";
            return std::nullopt;
        }
        out.host = std::string(authority.substr(1, close - 1));
        auto rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                why = "only :port may follow an IPv6 host";
                return std::nullopt;
            }
            port = rest.substr(1);
            if (port.empty()) port = "x";
        }
        for (char c : out.host)
            if (!(switchboard::detail::hex_digit(c) >= 0 || c == ':' || c == '.')) {
                why = "an IPv6 host holds hex digits, : and . only";
                return std::nullopt;
            }
    } else {
        auto colon = authority.find(':');
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            if (port.empty()) port = "x";
        }
        for (char c : out.host)
            if (!host_char(c)) {
                why = "the host may hold letters, digits, '.', '-' and '_' (or be an IPv6 address in [])";
                return std::nullopt;
            }
    }
    if (out.host.empty()) {
        why = "the Redis URL has no host";
        return std::nullopt;
    }
    if (!port.empty() && !number(port, out.port, std::uint16_t{1}, std::uint16_t{65535})) {
        why = "the port must be a number from 1 to 65535";
        return std::nullopt;
    }
    return out;
}

}  // namespace switchboard::redis::detail

// redis://[[user]:password@]host[:port][/db] — the address of the Redis a
// cluster shares. Private to switchboard::redis (fuzzed: tests/fuzz).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::redis::detail {

struct RedisUrl {
    std::string host;  ///< a name or an address; IPv6 without its brackets
    std::uint16_t port = 6379;
    std::string user;  ///< Redis 6 ACL user; empty: AUTH with the password alone
    std::string password;
    int db = 0;
};

/**
 * Parses a redis:// URL: host required, port 1-65535 (default 6379), db
 * 0-15 (default 0), %XX escapes in the user and password. nullopt and a
 * human sentence in `why` for anything else.
 */
std::optional<RedisUrl> parse_redis_url(std::string_view url, std::string& why);

}  // namespace switchboard::redis::detail

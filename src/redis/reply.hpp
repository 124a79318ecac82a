// A Redis reply copied out of hiredis (whose reply objects live only for the
// duration of a callback). Private to switchboard::redis.
#pragma once

#include <string>
#include <vector>

struct redisReply;

namespace switchboard::redis::detail {

struct Reply {
    enum class Kind { nil, integer, string, status, error, array };
    Kind kind = Kind::nil;
    long long integer = 0;
    std::string text;  ///< string, status and error replies
    std::vector<Reply> elements;

    static Reply from(const redisReply& reply);

    bool error() const noexcept { return kind == Kind::error; }
    bool is_array() const noexcept { return kind == Kind::array; }
    /** An integer reply, or a string that holds a decimal integer; `fallback` otherwise. */
    long long as_integer(long long fallback = -1) const;
};

}  // namespace switchboard::redis::detail

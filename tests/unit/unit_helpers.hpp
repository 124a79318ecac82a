// Small helpers shared by the unit tests, on top of the MemoryConnection
// test double. Keep assertions in tests; helpers assert only what every
// caller relies on (e.g. "exactly one message arrived").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "catch.hpp"
#include "memory_connection.hpp"

namespace switchboard::test {

using nlohmann::json;

/** A handshake for `path`, as an adapter would pass it. */
inline Handshake at_path(std::string path) {
    Handshake h;
    h.path = std::move(path);
    return h;
}

/** A handshake for `path` with `query` (e.g. "name=Ann", "resume=<token>"), from 127.0.0.1. */
inline Handshake with_query(std::string query, std::string path = "/") {
    Handshake h = at_path(std::move(path));
    h.query = std::move(query);
    h.remote_address = "127.0.0.1";
    return h;
}

/** Hub options that take the display name a client proposes (`?name=`). */
inline Options names_allowed() {
    Options o;
    o.allow_client_names = true;
    return o;
}

/** Admits and opens `handshake`, asserting both succeed. */
inline TestUser join_with(Hub& hub, Handshake handshake) {
    auto admission = hub.admit(std::move(handshake));
    REQUIRE(admission);
    TestUser u;
    u.connection = std::make_shared<MemoryConnection>();
    u.session = hub.open(std::move(admission), u.connection);
    REQUIRE(u.session);
    return u;
}

/** A valid peer-connect to `to`, with `extra` members appended (",\"k\":v"). */
inline std::string peer_connect(UserId to, std::string_view extra = "") {
    return fmt::format(R"({{"type":"peer-connect","to":{},"desc":{{"type":"offer","sdp":"v=0\r\n"}}{}}})", to, extra);
}

/** Everything `user` received since the last take(), asserting it is exactly one message. */
inline json take_one(const TestUser& user) {
    auto got = user.connection->take();
    INFO("received: " << json(got).dump());
    REQUIRE(got.size() == 1);
    return got.front();
}

/** Sends `text` as `user` and returns the error it is answered with. */
inline json error_for(Hub& hub, const TestUser& user, std::string_view text) {
    user.connection->take();
    user.send(hub, text);
    auto reply = take_one(user);
    INFO("reply: " << reply.dump());
    REQUIRE(reply.at("type") == "error");
    return reply;
}

/** The code of the error `text` is answered with. */
inline std::string error_code(Hub& hub, const TestUser& user, std::string_view text) {
    return error_for(hub, user, text).at("code").get<std::string>();
}

/** Joins `n` users to `path` and discards their logins and presence messages. */
inline std::vector<TestUser> join_quietly(Hub& hub, std::size_t n, const std::string& path = "/") {
    std::vector<TestUser> users;
    for (std::size_t i = 0; i < n; ++i) {
        users.push_back(join(hub, path));
        REQUIRE(users.back().session);
    }
    for (auto& u : users)
        u.connection->take();
    return users;
}

/** Count of `code` in the hub's error counters (0 when absent). */
inline std::uint64_t errors_counted(const Hub& hub, const std::string& code) {
    auto c = hub.counters();
    auto it = c.errors.find(code);
    return it == c.errors.end() ? 0 : it->second;
}

}  // namespace switchboard::test

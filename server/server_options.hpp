// switchboard-server's options, defined once (CLI11) and read from three
// places: the command line, SWITCHBOARD_<NAME> environment variables and a
// --config file. See parse_options.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <switchboard/beast.hpp>
#include <switchboard/redis.hpp>
#include <switchboard/switchboard.hpp>

namespace switchboard::server {

/** Everything switchboard-server was told to do, checked and ready for the library's option structs. */
struct Config {
    Options hub;
    beast::ServerOptions server;
    std::optional<std::filesystem::path> web_root;
    std::optional<redis::ClusterOptions> cluster;
    std::optional<std::string> token_secret;
    /** --issue-token: print a token for this subject and exit instead of serving. */
    std::optional<std::string> issue_subject;
    std::string token_room = "*";
    unsigned long long token_ttl = 3600;
    nlohmann::json token_profile;
    std::optional<std::string> admin_token;
    /** --host-peer: the display name of the host as a WebRTC peer of the default room (needs switchboard::peer). */
    std::optional<std::string> host_peer;
};

/**
 * Reads the options into `config`. Each option is looked for, in order, on
 * the command line, in the environment variable SWITCHBOARD_<NAME> (the long
 * name in upper case, dashes as underscores: SWITCHBOARD_MAX_ROOM_SIZE), and
 * in the --config file (TOML/INI, `max-room-size = 64`); the first one found
 * wins, otherwise the default stays.
 *
 * Returns the exit status when the program should stop instead of serving:
 * 0 after printing --help to stdout, 2 after printing why an option is bad
 * (one line on stderr).
 */
std::optional<int> parse_options(int argc, char** argv, Config& config);

}  // namespace switchboard::server

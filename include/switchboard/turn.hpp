// Switchboard: TURN credentials for `login` (target switchboard::tokens,
// the credentials component; find_package(Switchboard COMPONENTS tokens)).
//
// Behind NAT, many calls connect only through a TURN relay, and a relay
// must not be open to everybody. coturn's "TURN REST" scheme (its
// `use-auth-secret` and `static-auth-secret` settings) lets the signalling
// server hand out short-lived credentials without talking to coturn: both
// share a secret, and for each user
//
//   username   = "<expiry>:<user ID>"            expiry in seconds since the epoch
//   credential = base64(HMAC-SHA1(secret, username))
//
// coturn recomputes the credential from the username and refuses it (401)
// once the expiry has passed. Wire it into the hub:
//
//   options.ice_servers = switchboard::turn::ice_servers(
//       {"stun:turn.example.org:3478"},
//       {"turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"},
//       secret, std::chrono::hours(1));
//
// and every `login` carries `iceServers` with credentials for that user.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <switchboard/options.hpp>

namespace switchboard::turn {

struct Credentials {
    std::string username;
    std::string credential;
};

/** The TURN REST credentials of `user` valid until `expires` (seconds since the epoch). */
Credentials rest_credentials(std::string_view secret, std::string_view user, std::int64_t expires);

/**
 * An Options::ice_servers hook: one entry with `stun_urls` (if any), and one
 * with `turn_urls` (if any) and fresh REST credentials for each user, valid
 * for `ttl` from the login. Either list may be empty.
 */
IceServersHook ice_servers(std::vector<std::string> stun_urls, std::vector<std::string> turn_urls, std::string secret,
                           std::chrono::seconds ttl = std::chrono::hours(1));

}  // namespace switchboard::turn

// The text the nodes of a cluster publish to each other (see scripts.hpp for
// the channels). Parsers for what comes off a subscription: anything that
// does not parse is dropped and counted, never trusted. Private to
// switchboard::redis (fuzzed: tests/fuzz/cluster_events_fuzz.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <switchboard/hub.hpp>

namespace switchboard::redis::detail {

/**
 * "j <seq> <id> <node> <profile>", "l <seq> <id>", or "m <seq> <id> <node>"
 * (the user resumed on another node: routing changes, presence does not) on
 * a room's channel.
 */
struct RoomEvent {
    bool joined = false;
    bool moved = false;  ///< "m": `node` is where the user is now
    std::uint64_t seq = 0;
    UserId id = 0;
    std::uint64_t node = 0;  ///< joins only
    std::string profile;     ///< joins only: a JSON object (checked), "{}" when the event has none
};

/** "d <to> <room>\n<message>" on a node's channel: a message routed to one of its users. */
struct RoutedMessage {
    UserId to = 0;
    std::string_view room;
    std::string_view message;
};

/** "k <id> <code> <reason>" on a node's channel: close that user's connection. */
struct Disconnect {
    UserId id = 0;
    int code = 0;             ///< 1000, or 3000 to 4999
    std::string_view reason;  ///< valid UTF-8, at most 123 bytes
};

/**
 * "c <id> <node> <nonce> <secret> <room>" on a node's channel: node `node`
 * has a resume for user `id`, a user this node holds waiting to resume.
 */
struct Claim {
    UserId id = 0;
    std::uint64_t node = 0;
    std::uint64_t nonce = 0;
    std::string_view secret;  ///< 32 lower-case hex digits
    std::string_view room;
};

/**
 * The answer, on the claiming node's channel: "C <nonce> no", or
 * "C <nonce> ok <count>\n<profile>\n" then `count` kept messages, each
 * "<length>\n<bytes>".
 */
struct ClaimAnswer {
    std::uint64_t nonce = 0;
    bool granted = false;
    std::string profile;
    std::vector<std::string> kept;
};

std::optional<RoomEvent> parse_room_event(std::string_view text);
std::optional<Claim> parse_claim(std::string_view text);
std::string claim_text(const Claim& claim);
std::optional<ClaimAnswer> parse_claim_answer(std::string_view text);
std::string claim_answer_text(const ClaimAnswer& answer);
std::optional<Disconnect> parse_disconnect(std::string_view text);
/** The text parse_disconnect reads back. */
std::string disconnect_text(UserId id, int code, std::string_view reason);
std::optional<RoutedMessage> parse_routed_message(std::string_view text);

/** The text parse_routed_message reads back. */
std::string routed_message_text(UserId to, std::string_view room, std::string_view message);

}  // namespace switchboard::redis::detail

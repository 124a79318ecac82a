#include "cluster_events.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "../detail/utf8.hpp"

namespace switchboard::redis::detail {
namespace {

/** A decimal number up to `max` at the front of `text`, consumed with one following space if `space`. */
template <class T>
bool take_number(std::string_view& text, T& out, T max, bool space) {
    if (text.empty() || text.front() < '0' || text.front() > '9') return false;
    if (text.front() == '0' && text.size() > 1 && text[1] >= '0' && text[1] <= '9') return false;  // one spelling
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc() || out > max) return false;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    if (space) {
        if (text.empty() || text.front() != ' ') return false;
        text.remove_prefix(1);
    }
    return true;
}

bool room_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '~' || c == '-';
}

}  // namespace

std::optional<RoomEvent> parse_room_event(std::string_view text) {
    if (text.size() < 2 || (text[0] != 'j' && text[0] != 'l' && text[0] != 'm') || text[1] != ' ') return std::nullopt;
    RoomEvent e;
    e.joined = text[0] == 'j';
    e.moved = text[0] == 'm';
    text.remove_prefix(2);
    constexpr auto max_seq = std::uint64_t{1} << 62;
    if (!take_number(text, e.seq, max_seq, true)) return std::nullopt;
    if (!take_number(text, e.id, max_user_id, e.joined || e.moved)) return std::nullopt;
    if (e.seq == 0) return std::nullopt;
    if (!e.joined && !e.moved) return text.empty() ? std::optional(e) : std::nullopt;
    if (!take_number(text, e.node, max_seq, false) || e.node == 0) return std::nullopt;
    if (e.moved) return text.empty() ? std::optional(e) : std::nullopt;
    e.profile = "{}";
    if (text.empty()) return e;
    if (text.front() != ' ') return std::nullopt;
    auto profile = nlohmann::json::parse(text.substr(1), nullptr, false);
    if (!profile.is_object()) return std::nullopt;
    e.profile = profile.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return e;
}

std::optional<RoutedMessage> parse_routed_message(std::string_view text) {
    if (text.size() < 2 || text[0] != 'd' || text[1] != ' ') return std::nullopt;
    text.remove_prefix(2);
    RoutedMessage m;
    if (!take_number(text, m.to, max_user_id, true)) return std::nullopt;
    auto newline = text.find('\n');
    if (newline == std::string_view::npos || newline > 64) return std::nullopt;
    m.room = text.substr(0, newline);
    for (char c : m.room)
        if (!room_char(c)) return std::nullopt;
    m.message = text.substr(newline + 1);
    if (m.message.empty()) return std::nullopt;
    return m;
}

std::optional<Disconnect> parse_disconnect(std::string_view text) {
    if (text.size() < 2 || text[0] != 'k' || text[1] != ' ') return std::nullopt;
    text.remove_prefix(2);
    Disconnect d;
    unsigned code = 0;
    if (!take_number(text, d.id, max_user_id, true) || !take_number(text, code, 4999u, true)) return std::nullopt;
    if (code != 1000 && code < 3000) return std::nullopt;
    d.code = static_cast<int>(code);
    if (text.size() > 123 || !switchboard::detail::valid_utf8(text)) return std::nullopt;
    d.reason = text;
    return d;
}

std::string disconnect_text(UserId id, int code, std::string_view reason) {
    return "k " + std::to_string(id) + " " + std::to_string(code) + " " + std::string(reason);
}

std::optional<Claim> parse_claim(std::string_view text) {
    if (text.size() < 2 || text[0] != 'c' || text[1] != ' ') return std::nullopt;
    text.remove_prefix(2);
    constexpr auto max = std::uint64_t{1} << 62;
    Claim c;
    if (!take_number(text, c.id, max_user_id, true) || !take_number(text, c.node, max, true) ||
        !take_number(text, c.nonce, max, true) || c.node == 0)
        return std::nullopt;
    if (text.size() < 33 || text[32] != ' ') return std::nullopt;
    c.secret = text.substr(0, 32);
    for (char h : c.secret)
        if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f'))) return std::nullopt;
    c.room = text.substr(33);
    if (c.room.size() > 64) return std::nullopt;
    for (char r : c.room)
        if (!room_char(r)) return std::nullopt;
    return c;
}

std::string claim_text(const Claim& c) {
    return "c " + std::to_string(c.id) + " " + std::to_string(c.node) + " " + std::to_string(c.nonce) + " " +
           std::string(c.secret) + " " + std::string(c.room);
}

std::optional<ClaimAnswer> parse_claim_answer(std::string_view text) {
    if (text.size() < 2 || text[0] != 'C' || text[1] != ' ') return std::nullopt;
    text.remove_prefix(2);
    constexpr auto max = std::uint64_t{1} << 62;
    ClaimAnswer a;
    if (!take_number(text, a.nonce, max, true)) return std::nullopt;
    if (text == "no") return a;
    if (text.substr(0, 3) != "ok ") return std::nullopt;
    text.remove_prefix(3);
    std::size_t count = 0;
    if (!take_number(text, count, std::size_t{1} << 20, false) || text.empty() || text.front() != '\n')
        return std::nullopt;
    text.remove_prefix(1);
    auto newline = text.find('\n');
    if (newline == std::string_view::npos) return std::nullopt;
    auto profile = nlohmann::json::parse(text.substr(0, newline), nullptr, false);
    if (!profile.is_object()) return std::nullopt;
    a.profile = profile.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text.remove_prefix(newline + 1);
    for (std::size_t i = 0; i < count; ++i) {
        std::size_t length = 0;
        if (!take_number(text, length, text.size(), false) || text.empty() || text.front() != '\n') return std::nullopt;
        text.remove_prefix(1);
        if (length == 0 || length > text.size()) return std::nullopt;
        a.kept.emplace_back(text.substr(0, length));
        text.remove_prefix(length);
    }
    if (!text.empty()) return std::nullopt;
    a.granted = true;
    return a;
}

std::string claim_answer_text(const ClaimAnswer& a) {
    std::string out = "C " + std::to_string(a.nonce);
    if (!a.granted) return out + " no";
    out += " ok " + std::to_string(a.kept.size()) + "\n" + a.profile + "\n";
    for (auto& m : a.kept) {
        out += std::to_string(m.size());
        out += '\n';
        out += m;
    }
    return out;
}

std::string routed_message_text(UserId to, std::string_view room, std::string_view message) {
    std::string out;
    out.reserve(message.size() + room.size() + 24);
    out += "d ";
    out += std::to_string(to);
    out += ' ';
    out += room;
    out += '\n';
    out += message;
    return out;
}

}  // namespace switchboard::redis::detail

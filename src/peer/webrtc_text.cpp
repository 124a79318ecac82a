#include "webrtc_text.hpp"

#include <cstdio>

namespace switchboard::peer::detail {
namespace {

/** The lines of an SDP text, without their CRLF (or LF). */
std::vector<std::string_view> lines_of(std::string_view sdp) {
    std::vector<std::string_view> lines;
    while (!sdp.empty()) {
        auto end = sdp.find('\n');
        auto line = sdp.substr(0, end);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!line.empty()) lines.push_back(line);
        if (end == std::string_view::npos) break;
        sdp.remove_prefix(end + 1);
    }
    return lines;
}

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

/** RFC 3986 percent-encoding of everything but the unreserved characters. */
std::string percent_encoded(std::string_view text) {
    std::string out;
    for (unsigned char c : text) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            char escaped[4];
            std::snprintf(escaped, sizeof escaped, "%%%02X", c);
            out += escaped;
        }
    }
    return out;
}

}  // namespace

bool has_candidates(std::string_view sdp) {
    for (auto line : lines_of(sdp))
        if (starts_with(line, "a=candidate:")) return true;
    return false;
}

std::string mid_of(std::string_view sdp, unsigned mline) {
    int index = -1;
    for (auto line : lines_of(sdp)) {
        if (starts_with(line, "m=")) ++index;
        if (index == static_cast<int>(mline) && starts_with(line, "a=mid:")) return std::string(line.substr(6));
    }
    return {};
}

std::optional<unsigned> mline_of(std::string_view sdp, std::string_view mid) {
    int index = -1;
    for (auto line : lines_of(sdp)) {
        if (starts_with(line, "m=")) ++index;
        if (index >= 0 && starts_with(line, "a=mid:") && line.substr(6) == mid) return static_cast<unsigned>(index);
    }
    return std::nullopt;
}

std::string with_candidates(std::string_view sdp, const std::vector<Candidate>& candidates) {
    auto lines = lines_of(sdp);
    // Section 0 is the session part, section k + 1 the m-line k.
    std::vector<std::vector<std::string>> sections(1);
    for (auto line : lines) {
        if (starts_with(line, "m=")) sections.emplace_back();
        if (line == "a=end-of-candidates") continue;
        sections.back().emplace_back(line);
    }
    for (std::size_t s = 1; s < sections.size(); ++s) {
        auto& section = sections[s];
        for (const auto& [mline, candidate] : candidates) {
            if (mline + 1 != s) continue;
            std::string attribute = "a=" + candidate;
            bool present = false;
            for (const auto& line : section)
                present = present || line == attribute;
            if (!present) section.push_back(attribute);
        }
        section.emplace_back("a=end-of-candidates");
    }
    std::string out;
    for (const auto& section : sections)
        for (const auto& line : section)
            out += line + "\r\n";
    return out;
}

IceUris ice_uris(const nlohmann::json& ice_servers) {
    IceUris out;
    if (!ice_servers.is_array()) return out;
    for (const auto& server : ice_servers) {
        if (!server.is_object()) continue;
        std::vector<std::string> urls;
        auto u = server.find("urls");
        if (u != server.end() && u->is_string()) urls.push_back(u->get<std::string>());
        if (u != server.end() && u->is_array())
            for (const auto& url : *u)
                if (url.is_string()) urls.push_back(url.get<std::string>());
        auto text = [&server](const char* key) {
            auto it = server.find(key);
            return it != server.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        std::string user = text("username"), password = text("credential");
        for (const auto& url : urls) {
            auto colon = url.find(':');
            if (colon == std::string::npos) continue;
            std::string scheme = url.substr(0, colon), rest = url.substr(colon + 1);
            if (starts_with(rest, "//")) rest.erase(0, 2);
            if ((scheme == "stun" || scheme == "stuns") && out.stun.empty()) {
                out.stun = "stun://" + rest.substr(0, rest.find('?'));
            } else if ((scheme == "turn" || scheme == "turns") && !user.empty()) {
                out.turn.push_back(scheme + "://" + percent_encoded(user) + ":" + percent_encoded(password) + "@" +
                                   rest);
            }
        }
    }
    return out;
}

std::string ready_frame() {
    return R"({"type":"ready"})";
}

std::string message_frame(const nlohmann::json& data) {
    return nlohmann::json{{"type", "message"}, {"data", data}}.dump();
}

Frame parse_frame(std::string_view text) {
    Frame frame;
    auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        frame.kind = Frame::not_json;
        return frame;
    }
    auto type = json.find("type");
    if (type == json.end() || !type->is_string()) return frame;
    if (*type == "ready") {
        frame.kind = Frame::ready;
    } else if (*type == "message") {
        frame.kind = Frame::message;
        auto data = json.find("data");
        if (data != json.end()) frame.data = std::move(*data);
    }
    return frame;
}

}  // namespace switchboard::peer::detail

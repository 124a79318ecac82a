#include <switchboard/messages.hpp>

namespace switchboard::messages {
namespace {

void put_addressing(nlohmann::json& j, const std::optional<UserId>& to, const std::optional<UserId>& from) {
    if (to) j["to"] = *to;
    if (from) j["from"] = *from;
}

void get_addressing(const nlohmann::json& j, std::optional<UserId>& to, std::optional<UserId>& from) {
    to.reset();
    from.reset();
    if (auto it = j.find("to"); it != j.end()) to = it->get<UserId>();
    if (auto it = j.find("from"); it != j.end()) from = it->get<UserId>();
}

Error invalid(std::string message) {
    return Error{std::string(errc::invalid_message), std::move(message)};
}

}  // namespace

void to_json(nlohmann::json& j, const SessionDescription& d) {
    j = {{"type", d.type}, {"sdp", d.sdp}};
}
void from_json(const nlohmann::json& j, SessionDescription& d) {
    j.at("type").get_to(d.type);
    j.at("sdp").get_to(d.sdp);
}

void to_json(nlohmann::json& j, const Login& m) {
    j = {{"type", Login::type}, {"userId", m.user_id}, {"users", m.users}, {"profile", m.profile}};
    auto& profiles = j["profiles"] = nlohmann::json::object();
    for (const auto& [id, profile] : m.profiles)
        profiles[std::to_string(id)] = profile;
    if (!m.ice_servers.is_null()) j["iceServers"] = m.ice_servers;
}
void from_json(const nlohmann::json& j, Login& m) {
    // A seed-era server sends only userId and users.
    j.at("userId").get_to(m.user_id);
    j.at("users").get_to(m.users);
    m.profile = j.value("profile", nlohmann::json::object());
    m.profiles.clear();
    if (auto p = j.find("profiles"); p != j.end())
        for (const auto& [key, profile] : p->items())
            m.profiles[std::stoull(key)] = profile;
    m.ice_servers = j.value("iceServers", nlohmann::json());
}

void to_json(nlohmann::json& j, const PeerConnect& m) {
    j = {{"type", PeerConnect::type}, {"desc", m.desc}};
    put_addressing(j, m.to, m.from);
}
void from_json(const nlohmann::json& j, PeerConnect& m) {
    get_addressing(j, m.to, m.from);
    j.at("desc").get_to(m.desc);
}

void to_json(nlohmann::json& j, const PeerResponse& m) {
    j = {{"type", PeerResponse::type}, {"desc", m.desc}};
    put_addressing(j, m.to, m.from);
}
void from_json(const nlohmann::json& j, PeerResponse& m) {
    get_addressing(j, m.to, m.from);
    j.at("desc").get_to(m.desc);
}

void to_json(nlohmann::json& j, const PeerCandidate& m) {
    j = {{"type", PeerCandidate::type}, {"candidate", m.candidate}};
    put_addressing(j, m.to, m.from);
}
void from_json(const nlohmann::json& j, PeerCandidate& m) {
    get_addressing(j, m.to, m.from);
    m.candidate = j.at("candidate");
}

void to_json(nlohmann::json& j, const UserJoined& m) {
    j = {{"type", UserJoined::type}, {"userId", m.user_id}, {"profile", m.profile}};
}
void from_json(const nlohmann::json& j, UserJoined& m) {
    j.at("userId").get_to(m.user_id);
    m.profile = j.value("profile", nlohmann::json::object());
}

void to_json(nlohmann::json& j, const UserLeft& m) {
    j = {{"type", UserLeft::type}, {"userId", m.user_id}};
}
void from_json(const nlohmann::json& j, UserLeft& m) {
    j.at("userId").get_to(m.user_id);
}

void to_json(nlohmann::json& j, const ErrorMessage& m) {
    j = {{"type", ErrorMessage::type}, {"code", m.code}, {"message", m.message}};
    if (m.request_type || m.request_to) {
        auto& r = j["request"] = nlohmann::json::object();
        if (m.request_type) r["type"] = *m.request_type;
        if (m.request_to) r["to"] = *m.request_to;
    }
}
void from_json(const nlohmann::json& j, ErrorMessage& m) {
    j.at("code").get_to(m.code);
    j.at("message").get_to(m.message);
    m.request_type.reset();
    m.request_to.reset();
    if (auto r = j.find("request"); r != j.end() && r->is_object()) {
        if (auto t = r->find("type"); t != r->end() && t->is_string()) m.request_type = t->get<std::string>();
        if (auto t = r->find("to"); t != r->end() && t->is_number_unsigned()) m.request_to = t->get<UserId>();
    }
}

std::optional<Error> validate_description_message(const MessageView& m) {
    auto desc = m.object("desc");
    if (!desc) return invalid("`desc` must be an object with `type` and `sdp`");
    if (!desc->is_string("sdp")) return invalid("`desc.sdp` must be a string");
    auto type = desc->string("type");
    if (!type) return invalid("`desc.type` must be a string");
    if (*type != "offer" && *type != "answer" && *type != "pranswer" && *type != "rollback")
        return invalid("`desc.type` must be offer, answer, pranswer or rollback");
    return std::nullopt;
}

std::optional<Error> validate_candidate_message(const MessageView& m) {
    if (m.is_null("candidate")) return std::nullopt;
    auto candidate = m.object("candidate");
    if (!candidate) return invalid("`candidate` must be an RTCIceCandidateInit object or null");
    if (!candidate->is_string("candidate")) return invalid("`candidate.candidate` must be a string");
    return std::nullopt;
}

}  // namespace switchboard::messages

#include <switchboard/hub.hpp>

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "detail/client_name.hpp"
#include "detail/constant_time.hpp"
#include "detail/routed_text.hpp"
#include "detail/utf8.hpp"
#include "hub_core.hpp"

namespace switchboard {
namespace detail {
namespace {

bool reserved_type(std::string_view type) {
    return type == "login" || type == "user-joined" || type == "user-left" || type == "error";
}

std::string room_label(const std::string& room) {
    return room.empty() ? std::string("the default room") : "room '" + room + "'";
}

/**
 * 16 random bytes from the kernel's CSPRNG, as 32 lower-case hex digits.
 * Read 4 KiB at a time per thread: one system call serves 256 logins.
 */
std::string random_secret() {
    constexpr std::size_t secret_bytes = 16, pool_bytes = 4096;
    thread_local unsigned char pool[pool_bytes];
    thread_local std::size_t used = pool_bytes;
    if (used + secret_bytes > pool_bytes) {
        std::size_t filled = 0;
        while (filled < pool_bytes) {
            auto n = getrandom(pool + filled, pool_bytes - filled, 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw std::system_error(errno, std::generic_category(), "getrandom");
            }
            filled += static_cast<std::size_t>(n);
        }
        used = 0;
    }
    static const char digits[] = "0123456789abcdef";
    std::string out(2 * secret_bytes, '0');
    for (std::size_t i = 0; i < secret_bytes; ++i) {
        auto b = pool[used + i];
        pool[used + i] = 0;  // a secret handed out is not kept
        out[2 * i] = digits[b >> 4];
        out[2 * i + 1] = digits[b & 15];
    }
    used += secret_bytes;
    return out;
}

Payload error_payload(std::string_view code, std::string_view message, std::optional<std::string_view> request_type,
                      std::optional<UserId> request_to) {
    // Ordered so that `type` comes first, as in every other message.
    nlohmann::ordered_json e{{"type", "error"}, {"code", code}, {"message", message}};
    if (request_type || request_to) {
        auto& r = e["request"] = nlohmann::ordered_json::object();
        if (request_type) r["type"] = *request_type;
        if (request_to) r["to"] = *request_to;
    }
    return std::make_shared<const std::string>(e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

HubCore::HubCore(Options opts)
    : options(std::move(opts)), directory_(options.directory ? options.directory : make_local_directory()) {
    directory_->on_claim(
        [this](UserId id, const std::string& room, std::string_view secret) { return claim(id, room, secret); });
    directory_->on_removal([this](UserId id) { return remove_suspended(id); });
}

bool HubCore::remove_suspended(UserId id) {
    {
        std::lock_guard lock(resume_mutex_);
        auto it = suspended_.find(id);
        if (it == suspended_.end()) return false;
        // The timer thread departs it: this runs on the directory's thread, which departing needs.
        it->second.removed = true;
        it->second.deadline = std::chrono::steady_clock::now();
    }
    resume_changed_.notify_all();
    log(LogLevel::info, "user {} removed by the host on another node while waiting to resume", id);
    return true;
}

std::optional<Directory::Claimed> HubCore::claim(UserId id, const std::string& room, std::string_view secret) {
    std::string why;
    bool not_here = false;
    auto member = take_suspended(fmt::format("{}.{}", id, secret), room, why, not_here);
    if (!member) return std::nullopt;
    connections_open_.fetch_sub(1, std::memory_order_relaxed);
    log(LogLevel::info, "user {} resumes on another node", id);
    return Directory::Claimed{member->profile, member->release()};
}

std::shared_ptr<Participant> HubCore::resume_from_elsewhere(UserId id, const std::string& room, std::string_view secret,
                                                            std::shared_ptr<Connection> connection,
                                                            const std::string& remote_address) {
    auto claimed = directory_->claim_elsewhere(id, room, secret);
    if (!claimed) return nullptr;
    auto member = std::make_shared<Participant>(id, room, std::move(connection), remote_address, claimed->profile,
                                                options.limits.rate_burst);
    if (!directory_->adopt(member)) {
        // The directory has let it go (the others hear it left); this connection joins afresh.
        log(LogLevel::warn, "user {} was handed over from another node but could not be taken in", id);
        return nullptr;
    }
    connections_open_.fetch_add(1, std::memory_order_relaxed);
    welcome_back(*member, std::move(claimed->kept));
    log(LogLevel::info, "user {} resumed in {}, handed over from another node", id, room_label(room));
    return member;
}

HubCore::~HubCore() {
    directory_->on_claim({});  // waits for a claim another node is making of a user here
    directory_->on_removal({});
    {
        std::lock_guard lock(resume_mutex_);
        stopping_ = true;
    }
    resume_changed_.notify_all();
    if (resume_thread_.joinable()) resume_thread_.join();
}

void HubCore::add_type(std::string type, TypeEntry entry) {
    if (started.load()) throw std::logic_error("message types must be registered before the hub admits users");
    if (type.empty()) throw std::invalid_argument("a message type needs a name");
    if (reserved_type(type)) throw std::logic_error("message type '" + type + "' is reserved for the server");
    if (types_.count(type) != 0) throw std::logic_error("message type '" + type + "' is already registered");
    types_.emplace(std::move(type), std::move(entry));
}

Admission HubCore::admit(Handshake handshake) {
    started.store(true);
    Admission a;
    auto refuse = [&](int status, std::string reason) {
        connections_refused_.fetch_add(1, std::memory_order_relaxed);
        log(LogLevel::info, "refused a connection from {} to {}: {}", handshake.remote_address, handshake.path, reason);
        a.status_ = status;
        a.reason_ = std::move(reason);
    };
    auto room = room_from_path(handshake.path);
    if (!room) {
        refuse(404, "no such path: connect to / or /room/<name> (name: 1-64 of A-Z a-z 0-9 . _ ~ -)");
        return a;
    }
    if (!options.allowed_origins.empty()) {
        auto origin = handshake.header("Origin");
        if (!origin.empty() && std::find(options.allowed_origins.begin(), options.allowed_origins.end(), origin) ==
                                   options.allowed_origins.end()) {
            refuse(403, fmt::format("origin {} is not allowed", origin));
            return a;
        }
    }
    nlohmann::json profile = nlohmann::json::object();
    if (authorize) {
        Verdict v = authorize(handshake);
        if (!v.allowed) {
            refuse(v.status == 401 ? 401 : 403, v.reason.empty() ? std::string("not authorized") : v.reason);
            return a;
        }
        if (v.profile.is_object()) {
            profile = std::move(v.profile);
        } else if (!v.profile.is_null()) {
            log(LogLevel::error, "the authorize hook gave a profile that is not a JSON object: {}",
                v.profile.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
            refuse(500, "the server could not build this user's profile");
            return a;
        }
    }
    if (options.allow_client_names && !profile.contains("name")) {
        auto raw = handshake.query_param("name");
        if (!raw.empty()) {
            std::string why;
            auto name = parse_client_name(raw, options.limits.max_name_length, why);
            if (!name) {
                refuse(400, why);
                return a;
            }
            profile["name"] = std::move(*name);
        }
    }
    a.profile_ =
        profile.empty() ? std::string("{}") : profile.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (a.profile_.size() > options.limits.max_profile_bytes) {
        refuse(400, fmt::format("the user's profile is {} bytes; the limit is {}", a.profile_.size(),
                                options.limits.max_profile_bytes));
        return a;
    }
    a.status_ = 101;
    a.room_ = std::move(*room);
    a.client_address_ = client_address(handshake, options.trusted_proxies);
    a.handshake_ = std::move(handshake);
    return a;
}

std::shared_ptr<Participant> HubCore::open(std::string room, std::shared_ptr<Connection> connection,
                                           std::string remote_address, Profile profile, std::optional<UserId> fixed_id,
                                           std::string_view resume_token) {
    started.store(true);
    if (!connection) throw std::invalid_argument("Hub::open needs a connection");
    std::string resume_refusal;
    bool not_here = false;
    if (!resume_token.empty()) {
        if (options.resume_window.count() <= 0) {
            resume_refusal = "this server does not resume sessions; you joined as a new user";
        } else if (auto old = take_suspended(resume_token, room, resume_refusal, not_here)) {
            if (auto member = resume(old, connection)) return member;
            resume_refusal = "the session ended before it could be resumed; you joined as a new user";
        } else if (auto dot = resume_token.find('.'); not_here) {
            // Not waiting here: perhaps on another node of the cluster.
            UserId id = 0;
            auto [end, ec] = std::from_chars(resume_token.data(), resume_token.data() + dot, id);
            if (ec == std::errc() && end == resume_token.data() + dot)
                if (auto member =
                        resume_from_elsewhere(id, room, resume_token.substr(dot + 1), connection, remote_address))
                    return member;
        }
    }
    auto allocated = fixed_id ? fixed_id : directory_->allocate_id();
    if (fixed_id && directory_->contains(*fixed_id))
        throw std::logic_error(fmt::format("user ID {} is already taken", *fixed_id));
    const UserId id = allocated.value_or(0);
    static const auto empty = std::make_shared<const std::string>("{}");
    if (!profile) profile = empty;
    auto member = std::make_shared<Participant>(id, std::move(room), std::move(connection), std::move(remote_address),
                                                std::move(profile), options.limits.rate_burst);
    JoinOutcome outcome;
    if (allocated)
        outcome = directory_->join(member, options.limits);
    else
        outcome.refused = errc::cluster_unavailable;
    if (outcome.refused) {
        member->gone.store(true);
        connections_refused_.fetch_add(1, std::memory_order_relaxed);
        auto code = *outcome.refused;
        const Limits& limits = options.limits;
        std::string why;
        if (code == errc::room_full)
            why = fmt::format("{} is full ({} users)", room_label(member->room()), limits.max_users_per_room);
        else if (code == errc::too_many_connections)
            why = fmt::format("your address already has its maximum of {} connections open",
                              limits.max_connections_per_address);
        else if (code == errc::cluster_unavailable)
            why = "the cluster's shared registry cannot be reached; try again in a few seconds";
        else if (outcome.per_address)
            why = fmt::format("your address already has its maximum of {} rooms open; join one of them",
                              limits.max_rooms_per_address);
        else
            why = fmt::format("the server has its maximum of {} rooms open", limits.max_rooms);
        {
            std::lock_guard lock(error_counts_mutex_);
            ++error_counts_[std::string(code)];
        }
        log(LogLevel::info, "refused a user in {}: {}", room_label(member->room()), why);
        member->connection->send(error_payload(code, why, std::nullopt, std::nullopt));
        member->connection->close(close_code::try_again_later, code);
        return nullptr;
    }

    send_login(*member, outcome.present, false);
    if (!resume_refusal.empty()) reject(*member, errc::resume_failed, resume_refusal);
    connections_open_.fetch_add(1, std::memory_order_relaxed);
    connections_total_.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::info, "user {} joined {} from {}", id, room_label(member->room()),
        member->remote_address.empty() ? std::string("this process") : member->remote_address);
    directory_->announce(*member, Presence::joined);
    call_hook(joined_hook, "on_join", UserEvent{id, member->room(), member->remote_address, *member->profile});
    return member;
}

std::string HubCore::issue_resume_token(Participant& member) {
    if (options.resume_window.count() <= 0 || member.remote_address.empty()) return {};
    member.resume_secret = random_secret();
    return fmt::format("{}.{}", member.id(), member.resume_secret);
}

std::shared_ptr<Participant> HubCore::take_suspended(std::string_view token, const std::string& room, std::string& why,
                                                     bool& not_here) {
    auto unknown = [&] {
        return fmt::format(
            "the resume token is unknown, was used already, or its {:g} s have passed; you joined as a new user",
            std::chrono::duration<double>(options.resume_window).count());
    };
    auto dot = token.find('.');
    UserId id = 0;
    auto [end, ec] = std::from_chars(token.data(), token.data() + (dot == std::string_view::npos ? 0 : dot), id);
    if (dot == std::string_view::npos || ec != std::errc() || end != token.data() + dot || token.size() - dot != 33) {
        why = "the resume token is malformed; you joined as a new user";
        return nullptr;
    }
    auto secret = token.substr(dot + 1);
    std::lock_guard lock(resume_mutex_);
    auto it = suspended_.find(id);
    not_here = it == suspended_.end();
    if (not_here || !equal_in_constant_time(secret, it->second.member->resume_secret)) {
        why = unknown();
        return nullptr;
    }
    if (it->second.member->room() != room) {
        why =
            fmt::format("the resume token is for {}; you joined as a new user", room_label(it->second.member->room()));
        return nullptr;
    }
    if (it->second.deadline <= std::chrono::steady_clock::now()) {
        why = unknown();
        return nullptr;  // the timer thread gives it up
    }
    auto member = std::move(it->second.member);
    suspended_.erase(it);
    return member;
}

std::shared_ptr<Participant> HubCore::resume(const std::shared_ptr<Participant>& old,
                                             std::shared_ptr<Connection> connection) {
    auto member = std::make_shared<Participant>(old->id(), old->room(), std::move(connection), old->remote_address,
                                                old->profile, options.limits.rate_burst);
    if (!directory_->replace(old, member)) {
        depart(*old);
        return nullptr;
    }
    // Routed messages that still find the old one go on to the new one.
    old->keep_successor = member;
    welcome_back(*member, old->hand_over(member.get()));
    log(LogLevel::info, "user {} resumed in {}", member->id(), room_label(member->room()));
    return member;
}

void HubCore::send_login(Participant& member, const std::vector<PresentUser>& present, bool resumed,
                         std::vector<Payload> kept) {
    const auto ice = ice_servers_for(member);
    const auto token = issue_resume_token(member);
    member.welcome(login_message(member.id(), member.profile, present, {ice, token, resumed}), std::move(kept));
}

void HubCore::welcome_back(Participant& member, std::vector<Payload> kept) {
    auto present = directory_->members(member.room());
    present.erase(std::remove_if(present.begin(), present.end(), [&](auto& u) { return u.id == member.id(); }),
                  present.end());
    send_login(member, present, true, std::move(kept));
    resumed_.fetch_add(1, std::memory_order_relaxed);
}

void HubCore::leave(Participant& member, Departure how) {
    if (member.gone.exchange(true)) return;
    if (how == Departure::lost && !member.resume_secret.empty() &&
        member.suspend(options.limits.resume_max_messages, options.limits.resume_max_bytes)) {
        {
            std::lock_guard lock(resume_mutex_);
            suspended_[member.id()] = {member.shared_from_this(),
                                       std::chrono::steady_clock::now() + options.resume_window};
            if (!resume_thread_.joinable()) resume_thread_ = std::thread([this] { run_resume_timer(); });
        }
        resume_changed_.notify_all();
        log(LogLevel::info, "user {} lost its connection; it may resume within {} ms", member.id(),
            options.resume_window.count());
        return;
    }
    depart(member);
}

void HubCore::run_resume_timer() {
    std::unique_lock lock(resume_mutex_);
    while (!stopping_) {
        const auto now = std::chrono::steady_clock::now();
        // Kept messages can overflow at any time: look every 200 ms while anybody waits.
        auto next = now + std::chrono::milliseconds(200);
        std::vector<Suspended> given_up;
        for (auto it = suspended_.begin(); it != suspended_.end();) {
            if (it->second.deadline <= now || it->second.member->overflowed()) {
                given_up.push_back(std::move(it->second));
                it = suspended_.erase(it);
            } else {
                next = std::min(next, it->second.deadline);
                ++it;
            }
        }
        if (!given_up.empty()) {
            lock.unlock();
            for (auto& [m, deadline, removed] : given_up) {
                if (!removed)
                    log(LogLevel::info, "user {} did not resume{}", m->id(),
                        m->overflowed() ? ": more was routed to it than it may keep" : " in time");
                depart(*m);
            }
            given_up.clear();
            lock.lock();
            continue;
        }
        if (suspended_.empty())
            resume_changed_.wait(lock);
        else
            resume_changed_.wait_until(lock, next);
    }
}

void HubCore::depart(Participant& member) {
    directory_->leave(member);
    connections_open_.fetch_sub(1, std::memory_order_relaxed);
    directory_->announce(member, Presence::left);
    log(LogLevel::info, "user {} left {}", member.id(), room_label(member.room()));
    call_hook(left_hook, "on_leave", UserEvent{member.id(), member.room(), member.remote_address, *member.profile});
}

std::string HubCore::ice_servers_for(const Participant& member) {
    if (!options.ice_servers) return {};
    std::vector<IceServer> servers;
    try {
        servers = options.ice_servers(member.id(), member.room());
    } catch (const std::exception& e) {
        log(LogLevel::error, "the ICE servers hook threw for user {}: {}", member.id(), e.what());
        return {};
    }
    if (servers.empty()) return {};
    auto list = nlohmann::json::array();
    for (auto& server : servers) {
        nlohmann::json entry{{"urls", server.urls}};
        if (!server.username.empty()) entry["username"] = server.username;
        if (!server.credential.empty()) entry["credential"] = server.credential;
        list.push_back(std::move(entry));
    }
    return list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void HubCore::call_hook(const std::function<void(const UserEvent&)>& hook, const char* name, const UserEvent& e) {
    if (!hook) return;
    // The user is already joined (or gone) for everyone else: a throwing
    // observer must not undo half of that.
    try {
        hook(e);
    } catch (const std::exception& ex) {
        log(LogLevel::error, "the {} hook threw for user {}: {}", name, e.id, ex.what());
    }
}

void HubCore::reject(Participant& to, std::string_view code, std::string_view message,
                     std::optional<std::string_view> request_type, std::optional<UserId> request_to) {
    {
        std::lock_guard lock(error_counts_mutex_);
        auto it = error_counts_.find(code);
        if (it == error_counts_.end()) it = error_counts_.emplace(std::string(code), 0).first;
        ++it->second;
    }
    log(LogLevel::debug, "user {}: {}: {}", to.id(), code, message);
    to.deliver(error_payload(code, message, request_type, request_to));
}

void HubCore::receive(Participant& sender, std::string_view text) {
    if (sender.gone.load(std::memory_order_relaxed)) return;
    received_.fetch_add(1, std::memory_order_relaxed);
    const Limits& limits = options.limits;
    if (text.size() > limits.max_message_bytes) {
        reject(sender, errc::message_too_large,
               fmt::format("the message is {} bytes; the limit is {}", text.size(), limits.max_message_bytes));
        return;
    }
    if (!sender.take_token(limits.rate_per_second, limits.rate_burst)) {
        reject(
            sender, errc::rate_limited,
            fmt::format("too many messages: the limit is {} a second; this one was dropped", limits.rate_per_second));
        return;
    }
    auto view = MessageView::parse(text, limits.max_json_depth);
    if (!view) {
        reject(sender, view.error().code, view.error().message);
        return;
    }
    auto type = view->string("type");
    if (!type) {
        reject(sender, errc::invalid_message, "the message has no string `type`");
        return;
    }
    if (reserved_type(*type)) {
        reject(sender, errc::forbidden, fmt::format("`{}` messages come only from the server", *type), *type,
               view->uint("to", max_user_id));
        return;
    }
    auto entry = types_.find(*type);
    if (entry == types_.end()) {
        if (options.unknown_types == UnknownTypePolicy::route) {
            route(sender, *view, *type);
        } else {
            reject(sender, errc::unknown_type, fmt::format("no message type `{}` is known to this server", *type),
                   *type, view->uint("to", max_user_id));
        }
        return;
    }
    if (entry->second.handler) {
        try {
            Request request(*this, sender, view->json());
            entry->second.handler(request);
            handled_.fetch_add(1, std::memory_order_relaxed);
        } catch (const std::exception& e) {
            log(LogLevel::error, "the handler for `{}` failed: {}", *type, e.what());
            reject(sender, errc::internal_error, fmt::format("the server failed to handle `{}`", *type), *type,
                   view->uint("to", max_user_id));
        }
        return;
    }
    if (entry->second.validate) {
        std::optional<Error> error;
        try {
            error = entry->second.validate(*view);
        } catch (const std::exception& e) {
            error = Error{std::string(errc::invalid_message), invalid_message(e).message};
        }
        if (error) {
            reject(sender, error->code, error->message, *type, view->uint("to", max_user_id));
            return;
        }
    }
    route(sender, *view, *type);
}

void HubCore::route(Participant& sender, const MessageView& view, std::string_view type) {
    auto to = view.uint("to", max_user_id);
    if (!to) {
        reject(sender, errc::invalid_message,
               "`to` must be a user ID: an integer from 0 to 9007199254740991 without fraction or exponent", type);
        return;
    }
    auto out = detail::routed_text(view, sender.id());
    auto size = out->size();
    switch (directory_->deliver(sender.room(), *to, std::move(out))) {
        case Delivery::delivered:
            break;
        case Delivery::no_such_user:
            reject(sender, errc::unknown_recipient, fmt::format("user {} is not in this room", *to), type, *to);
            return;
        case Delivery::refused:
            reject(sender, errc::recipient_busy,
                   fmt::format("user {} has too many messages waiting; this one was dropped: send it again later", *to),
                   type, *to);
            return;
    }
    routed_.fetch_add(1, std::memory_order_relaxed);
    bytes_routed_.fetch_add(size, std::memory_order_relaxed);
}

std::vector<RoomUser> HubCore::users(const std::string& room) const {
    std::vector<RoomUser> out;
    for (auto& user : directory_->members(room))
        out.push_back({user.id, nlohmann::json::parse(*user.profile, nullptr, false)});
    return out;
}

Payload HubCore::host_message(const nlohmann::json& message) {
    if (!message.is_object()) throw std::invalid_argument("a message is a JSON object");
    auto type = message.find("type");
    if (type == message.end() || !type->is_string()) throw std::invalid_argument("a message needs a string `type`");
    if (reserved_type(type->get_ref<const std::string&>()))
        throw std::invalid_argument("`" + type->get<std::string>() + "` messages are the hub's own");
    return std::make_shared<const std::string>(message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

SendResult HubCore::send_to(UserId user, const nlohmann::json& message) {
    auto text = host_message(message);
    switch (directory_->deliver_to_user(user, text)) {
        case Delivery::delivered:
            return SendResult::sent;
        case Delivery::refused:
            return SendResult::busy;
        case Delivery::no_such_user:
            break;
    }
    return SendResult::no_such_user;
}

std::size_t HubCore::broadcast(const std::string& room, const nlohmann::json& message) {
    auto text = host_message(message);
    std::size_t sent = 0;
    for (auto& user : directory_->members(room))
        if (directory_->deliver_to_user(user.id, text) == Delivery::delivered) ++sent;
    return sent;
}

bool HubCore::disconnect(UserId user, int code, std::string_view reason) {
    if (code != close_code::normal && (code < 3000 || code > 4999))
        throw std::invalid_argument(fmt::format("close code {} is not one an application may send", code));
    if (reason.size() > 123 || !valid_utf8(reason))
        throw std::invalid_argument("a close reason is at most 123 bytes of UTF-8");
    auto member = directory_->local_member(user);
    if (member) {
        log(LogLevel::info, "user {} removed by the host ({} {})", user, code, reason);
        // Leave first, so the others hear of it now; then close.
        leave(*member, Departure::closed);
        member->connection->close(code, reason);
    }
    // Waiting to resume (its socket was lost before, or just now): it will not.
    std::shared_ptr<Participant> waiting;
    {
        std::lock_guard lock(resume_mutex_);
        if (auto it = suspended_.find(user); it != suspended_.end()) {
            waiting = std::move(it->second.member);
            suspended_.erase(it);
        }
    }
    if (waiting) {
        log(LogLevel::info, "user {} removed by the host while waiting to resume", user);
        depart(*waiting);
        return true;
    }
    return member || directory_->disconnect_elsewhere(user, code, reason);
}

Counters HubCore::counters() const {
    Counters c;
    c.connections_open = connections_open_.load();
    c.connections_total = connections_total_.load();
    c.connections_refused = connections_refused_.load();
    c.rooms_open = directory_->room_count();
    c.messages_received = received_.load();
    c.messages_routed = routed_.load();
    c.messages_handled = handled_.load();
    c.bytes_routed = bytes_routed_.load();
    c.sessions_resumed = resumed_.load();
    {
        std::lock_guard lock(resume_mutex_);
        c.sessions_suspended = suspended_.size();
    }
    std::lock_guard lock(error_counts_mutex_);
    c.errors.insert(error_counts_.begin(), error_counts_.end());
    c.transport_closes.insert(close_counts_.begin(), close_counts_.end());
    return c;
}

void HubCore::count_transport_close(std::string_view code) {
    std::lock_guard lock(error_counts_mutex_);
    auto it = close_counts_.find(code);
    if (it == close_counts_.end()) it = close_counts_.emplace(std::string(code), 0).first;
    ++it->second;
}

namespace {

/** The in-process connection behind a LocalParticipant. */
class LocalConnection final : public Connection {
public:
    LocalConnection(LocalHandler handler, const Options& options) : handler_(std::move(handler)), options_(options) {}
    /** Runs the host's handler on the routing thread; like the other hooks, a throwing one is logged, not passed on. */
    void send(std::shared_ptr<const std::string> text) override {
        if (closed_.load() || !handler_) return;
        try {
            handler_(nlohmann::json::parse(*text));
        } catch (const std::exception& e) {
            detail::log(options_, LogLevel::error, "the local participant's handler threw: {}", e.what());
        }
    }
    void close(int, std::string_view) override { closed_.store(true); }

private:
    LocalHandler handler_;
    const Options& options_;
    std::atomic<bool> closed_{false};
};

class LocalParticipantImpl final : public LocalParticipant {
public:
    LocalParticipantImpl(HubCore& hub, std::shared_ptr<Participant> member) : hub_(hub), member_(std::move(member)) {}
    ~LocalParticipantImpl() override { leave(); }
    UserId id() const noexcept override { return member_->id(); }
    void send(const nlohmann::json& message) override { hub_.receive(*member_, message.dump()); }
    void leave() override { hub_.leave(*member_); }

private:
    HubCore& hub_;
    std::shared_ptr<Participant> member_;
};

}  // namespace
}  // namespace detail

// ---- Request ----

Request::Request(detail::HubCore& hub, detail::Participant& sender, const nlohmann::json& message)
    : hub_(hub), sender_(sender), from_(sender.id()), room_(sender.room()), message_(message) {}

void Request::reply(const nlohmann::json& reply) const {
    sender_.deliver(std::make_shared<const std::string>(reply.dump()));
}

void Request::fail(std::string_view code, std::string_view human_message) const {
    std::optional<std::string_view> type;
    if (auto t = message_.find("type"); t != message_.end() && t->is_string()) type = t->get_ref<const std::string&>();
    std::optional<UserId> to;
    if (auto t = message_.find("to"); t != message_.end() && t->is_number_unsigned() && t->get<UserId>() <= max_user_id)
        to = t->get<UserId>();
    hub_.reject(sender_, code, human_message, type, to);
}

// ---- Hub ----

Hub::Hub(Options options) : core_(std::make_unique<detail::HubCore>(std::move(options))) {
    add_routable_type(messages::PeerConnect::type, messages::validate_description_message);
    add_routable_type(messages::PeerResponse::type, messages::validate_description_message);
    add_routable_type(messages::PeerCandidate::type, messages::validate_candidate_message);
}

Hub::~Hub() = default;

void Hub::add_routable_type(std::string type, Validator validate) {
    core_->add_type(std::move(type), {std::move(validate), {}});
}

void Hub::add_host_type(std::string type, HostHandler handler) {
    if (!handler) throw std::invalid_argument("add_host_type needs a handler");
    core_->add_type(std::move(type), {{}, std::move(handler)});
}

void Hub::on_authorize(std::function<Verdict(const Handshake&)> hook) {
    core_->authorize = std::move(hook);
}
void Hub::on_join(std::function<void(const UserEvent&)> hook) {
    core_->joined_hook = std::move(hook);
}
void Hub::on_leave(std::function<void(const UserEvent&)> hook) {
    core_->left_hook = std::move(hook);
}

Admission Hub::admit(Handshake handshake) {
    return core_->admit(std::move(handshake));
}

std::shared_ptr<Session> Hub::open(Admission admission, std::shared_ptr<Connection> connection) {
    if (!admission) throw std::invalid_argument("Hub::open needs an accepted admission");
    auto remote = admission.client_address_;
    static const auto empty = std::make_shared<const std::string>("{}");
    auto profile =
        admission.profile_ == "{}" ? empty : std::make_shared<const std::string>(std::move(admission.profile_));
    return core_->open(std::move(admission.room_), std::move(connection), std::move(remote), std::move(profile),
                       std::nullopt, admission.handshake_.query_param("resume"));
}

void Hub::receive(Session& session, std::string_view text) {
    core_->receive(static_cast<detail::Participant&>(session), text);
}

void Hub::leave(Session& session, Departure how) {
    core_->leave(static_cast<detail::Participant&>(session), how);
}

std::shared_ptr<LocalParticipant> Hub::join_local(std::string room, LocalHandler handler, LocalId which,
                                                  const nlohmann::json& profile) {
    if (!room.empty() && room_from_path("/room/" + room) != room)
        throw std::invalid_argument("'" + room + "' is not a room name: use 1-64 of A-Z a-z 0-9 . _ ~ -");
    if (!profile.is_object()) throw std::invalid_argument("a local participant's profile must be a JSON object");
    auto text = std::make_shared<const std::string>(profile.dump());
    if (text->size() > core_->options.limits.max_profile_bytes)
        throw std::invalid_argument(fmt::format("the profile is {} bytes; the limit is {}", text->size(),
                                                core_->options.limits.max_profile_bytes));
    auto connection = std::make_shared<detail::LocalConnection>(std::move(handler), core_->options);
    std::optional<UserId> id;
    if (which == LocalId::host) id = host_user_id;
    auto member = core_->open(std::move(room), std::move(connection), {}, std::move(text), id);
    if (!member)
        throw std::runtime_error("the local participant could not join: the room is full or too many rooms are open");
    return std::make_shared<detail::LocalParticipantImpl>(*core_, std::move(member));
}

std::vector<std::string> Hub::rooms() const {
    return core_->rooms();
}
std::vector<RoomUser> Hub::users(const std::string& room) const {
    return core_->users(room);
}
SendResult Hub::send_to(UserId user, const nlohmann::json& message) {
    return core_->send_to(user, message);
}
std::size_t Hub::broadcast(const std::string& room, const nlohmann::json& message) {
    return core_->broadcast(room, message);
}
bool Hub::disconnect(UserId user, int code, std::string_view reason) {
    return core_->disconnect(user, code, reason);
}

Counters Hub::counters() const {
    return core_->counters();
}
const Options& Hub::options() const noexcept {
    return core_->options;
}
void Hub::count_transport_close(std::string_view code) {
    core_->count_transport_close(code);
}

}  // namespace switchboard

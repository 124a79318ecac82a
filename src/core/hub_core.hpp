// The hub's private implementation.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include <switchboard/hub.hpp>

#include "detail/directory.hpp"
#include "detail/log.hpp"
#include "detail/participant.hpp"

namespace switchboard::detail {

class HubCore {
public:
    explicit HubCore(Options options);
    ~HubCore();

    struct TypeEntry {
        Validator validate;  // routable when handler is empty
        HostHandler handler;
    };

    void add_type(std::string type, TypeEntry entry);

    Admission admit(Handshake handshake);
    /** `resume_token`: the `resume` query parameter ("" for none). */
    std::shared_ptr<Participant> open(std::string room, std::shared_ptr<Connection> connection,
                                      std::string remote_address, Profile profile, std::optional<UserId> fixed_id,
                                      std::string_view resume_token = {});
    void receive(Participant& sender, std::string_view text);
    void leave(Participant& member, Departure how = Departure::closed);

    /** Send an `error` to `to` and count it. */
    void reject(Participant& to, std::string_view code, std::string_view message,
                std::optional<std::string_view> request_type = std::nullopt,
                std::optional<UserId> request_to = std::nullopt);

    // Host control (Hub's functions of the same names).
    std::vector<std::string> rooms() const { return directory_->room_names(); }
    std::vector<RoomUser> users(const std::string& room) const;
    SendResult send_to(UserId user, const nlohmann::json& message);
    std::size_t broadcast(const std::string& room, const nlohmann::json& message);
    bool disconnect(UserId user, int code, std::string_view reason);

    Counters counters() const;
    void count_transport_close(std::string_view code);

    template <class... Args>
    void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
        detail::log(options, level, format, std::forward<Args>(args)...);
    }

    const Options options;
    std::function<Verdict(const Handshake&)> authorize;
    std::function<void(const UserEvent&)> joined_hook;
    std::function<void(const UserEvent&)> left_hook;
    std::atomic<bool> started{false};

private:
    void call_hook(const std::function<void(const UserEvent&)>& hook, const char* name, const UserEvent& e);
    void route(Participant& sender, const MessageView& view, std::string_view type);

    /** After `gone` is set: out of the directory, the others told, the hook called. */
    void depart(Participant& member);
    /**
     * The suspended user `token` names in `room`, taken out of waiting; or
     * nullptr with `why` set, and `not_here` when no user of that ID waits here.
     */
    std::shared_ptr<Participant> take_suspended(std::string_view token, const std::string& room, std::string& why,
                                                bool& not_here);
    /** Another node's resume for a user waiting here (Directory::on_claim). */
    std::optional<Directory::Claimed> claim(UserId id, const std::string& room, std::string_view secret);
    /** Hub::disconnect on another node, for a user waiting here to resume: its window ends now. */
    bool remove_suspended(UserId id);
    /** A resume for a user waiting on another node: claimed, taken in, welcomed; nullptr if not. */
    std::shared_ptr<Participant> resume_from_elsewhere(UserId id, const std::string& room, std::string_view secret,
                                                       std::shared_ptr<Connection> connection,
                                                       const std::string& remote_address);
    /** `old`'s user, back on `connection`; nullptr if it can no longer be (it left meanwhile). */
    std::shared_ptr<Participant> resume(const std::shared_ptr<Participant>& old,
                                        std::shared_ptr<Connection> connection);
    /** `login` (with ICE servers and a fresh resume token), then `kept`, then what arrived meanwhile. */
    void send_login(Participant& member, const std::vector<PresentUser>& present, bool resumed,
                    std::vector<Payload> kept = {});
    /** The `login` of a resume: the room as it is now, `"resumed":true`, then `kept`. Counts the resume. */
    void welcome_back(Participant& member, std::vector<Payload> kept);
    /** A fresh single-use resume token for `id`, remembered on the member. */
    std::string issue_resume_token(Participant& member);
    /** A host message as text: throws std::invalid_argument unless it is an object with a type of its own. */
    static Payload host_message(const nlohmann::json& message);

    /** The resume timer thread: gives up suspended users whose window ended or whose kept messages overflowed. */
    void run_resume_timer();
    /** The `iceServers` array for `member`'s login as JSON text, or "" for none (Options::ice_servers). */
    std::string ice_servers_for(const Participant& member);

    std::shared_ptr<Directory> directory_;
    std::unordered_map<std::string, TypeEntry> types_;  // frozen once started

    std::atomic<std::uint64_t> connections_open_{0}, connections_total_{0}, connections_refused_{0};
    std::atomic<std::uint64_t> received_{0}, routed_{0}, handled_{0}, bytes_routed_{0};
    std::atomic<std::uint64_t> resumed_{0};

    struct Suspended {
        std::shared_ptr<Participant> member;
        std::chrono::steady_clock::time_point deadline;
        bool removed = false;  ///< by Hub::disconnect on another node: the timer thread lets it go now
    };
    mutable std::mutex resume_mutex_;
    std::condition_variable resume_changed_;
    std::unordered_map<UserId, Suspended> suspended_;
    std::thread resume_thread_;
    bool stopping_ = false;

    mutable std::mutex error_counts_mutex_;
    std::map<std::string, std::uint64_t, std::less<>> error_counts_;
    std::map<std::string, std::uint64_t, std::less<>> close_counts_;
};

}  // namespace switchboard::detail

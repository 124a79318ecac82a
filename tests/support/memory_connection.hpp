// The one test double every unit test shares: a Connection that records
// what the hub sent and whether it closed, and a helper that joins one.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <switchboard/hub.hpp>

namespace switchboard::test {

class MemoryConnection final : public Connection {
public:
    void send(std::shared_ptr<const std::string> text) override {
        std::lock_guard lock(mutex_);
        sent_.push_back(*text);
    }
    /** Routed messages are accepted like any other, unless refuse_offers(true) was called. */
    bool offer(std::shared_ptr<const std::string> text) override {
        {
            std::lock_guard lock(mutex_);
            if (refusing_) return false;
        }
        send(std::move(text));
        return true;
    }
    /** Act like a transport whose queue is too full for routed messages. */
    void refuse_offers(bool refuse) {
        std::lock_guard lock(mutex_);
        refusing_ = refuse;
    }
    void close(int code, std::string_view reason) override {
        std::lock_guard lock(mutex_);
        closed_ = true;
        close_code_ = code;
        close_reason_ = std::string(reason);
    }

    /** Everything sent so far, raw. */
    std::vector<std::string> texts() const {
        std::lock_guard lock(mutex_);
        return sent_;
    }
    /** Everything sent so far, parsed. */
    std::vector<nlohmann::json> messages() const {
        std::vector<nlohmann::json> out;
        for (auto& t : texts())
            out.push_back(read(t));
        return out;
    }
    /** Everything sent since the last take(), parsed. */
    std::vector<nlohmann::json> take() {
        std::lock_guard lock(mutex_);
        std::vector<nlohmann::json> out;
        for (std::size_t i = taken_; i < sent_.size(); ++i)
            out.push_back(read(sent_[i]));
        taken_ = sent_.size();
        return out;
    }
    /** The last message sent; null when nothing was. */
    nlohmann::json last() const {
        std::lock_guard lock(mutex_);
        return sent_.empty() ? nlohmann::json() : read(sent_.back());
    }
    std::size_t count() const {
        std::lock_guard lock(mutex_);
        return sent_.size();
    }
    bool closed() const {
        std::lock_guard lock(mutex_);
        return closed_;
    }
    int close_code() const {
        std::lock_guard lock(mutex_);
        return close_code_;
    }

    /** The resume token of the last `login` read (messages(), take(), last()); "" if none had one. */
    std::string resume_token() const {
        std::lock_guard lock(token_mutex_);
        return resume_token_;
    }

private:
    /**
     * A sent text, parsed. A `login`'s resume token reads as "<token>" when
     * it has the form the protocol promises ("<userId>.<32 lower-case hex
     * digits>"), so tests can compare whole logins; it is kept for
     * resume_token(). Any other value is left as it is, and fails the test.
     */
    nlohmann::json read(const std::string& text) const {
        auto m = nlohmann::json::parse(text);
        auto token = m.find("resume");
        if (m.value("type", "") != "login" || token == m.end() || !token->is_string()) return m;
        const auto& t = token->get_ref<const std::string&>();
        auto prefix = std::to_string(m.value("userId", std::uint64_t{0})) + ".";
        bool well_formed = t.size() == prefix.size() + 32 && t.compare(0, prefix.size(), prefix) == 0;
        for (std::size_t i = prefix.size(); well_formed && i < t.size(); ++i)
            well_formed = (t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f');
        if (!well_formed) return m;
        std::lock_guard lock(token_mutex_);
        resume_token_ = t;
        *token = "<token>";
        return m;
    }

    mutable std::mutex mutex_;
    mutable std::mutex token_mutex_;  // read() runs with and without mutex_
    mutable std::string resume_token_;
    std::vector<std::string> sent_;
    std::size_t taken_ = 0;
    bool refusing_ = false;
    bool closed_ = false;
    int close_code_ = 0;
    std::string close_reason_;
};

/** A joined test user: its recording connection and its session (null if refused). */
struct TestUser {
    std::shared_ptr<MemoryConnection> connection;
    std::shared_ptr<Session> session;

    UserId id() const { return session->id(); }
    void send(Hub& hub, std::string_view text) const { hub.receive(*session, text); }
    void send_json(Hub& hub, const nlohmann::json& message) const { hub.receive(*session, message.dump()); }
};

/**
 * Admit and open a user on `path` ("/" or "/room/<name>") from
 * `remote_address`; by default each user comes from an address of its own
 * ("client-N"), as users of a real server mostly do.
 */
inline TestUser join(Hub& hub, std::string path = "/", std::string remote_address = {}) {
    static std::atomic<unsigned> next_address{0};
    TestUser u;
    u.connection = std::make_shared<MemoryConnection>();
    Handshake h;
    h.path = std::move(path);
    h.remote_address =
        remote_address.empty() ? "client-" + std::to_string(next_address.fetch_add(1)) : std::move(remote_address);
    auto admission = hub.admit(std::move(h));
    if (admission) u.session = hub.open(std::move(admission), u.connection);
    return u;
}

}  // namespace switchboard::test

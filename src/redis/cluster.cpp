// switchboard::redis: the cluster's Directory. Adapter threads call the
// Directory functions; everything that talks to Redis runs on the cluster's
// own thread (one io_context, two hiredis connections: commands and
// subscriptions). The replica of each room with a user here (who is in it,
// on which node, up to which event) is shared under one mutex; connections
// are never called under it.
#include <switchboard/redis.hpp>

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <future>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "../detail/directory.hpp"
#include "async_connection.hpp"
#include "cluster_events.hpp"
#include "redis_url.hpp"
#include "scripts.hpp"

namespace switchboard::redis {

namespace net = boost::asio;
using detail::AsyncConnection;
using detail::Reply;
using switchboard::detail::Delivery;
using switchboard::detail::JoinOutcome;
using switchboard::detail::Participant;
using switchboard::detail::Payload;
using switchboard::detail::Presence;
using switchboard::detail::presence_message;
using switchboard::detail::Profile;
using Claimed = switchboard::detail::Directory::Claimed;
using ClaimHandler = switchboard::detail::Directory::ClaimHandler;
using RemovalHandler = switchboard::detail::Directory::RemovalHandler;
using Clock = std::chrono::steady_clock;

namespace {

/** User IDs reserved per round trip. */
constexpr std::uint64_t id_block = 1024;
/** Events a room replica remembers, for a join whose answer comes after later events. */
constexpr std::size_t history_limit = 512;

std::string default_node_name() {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    return fmt::format("{}:{}", host[0] ? host : "node", getpid());
}

std::int64_t ticks(Clock::time_point t) {
    return t.time_since_epoch().count();
}

}  // namespace

class Cluster::Impl final : public switchboard::detail::Directory, public std::enable_shared_from_this<Impl> {
public:
    explicit Impl(ClusterOptions o) : options_(std::move(o)), work_(net::make_work_guard(io_)) {
        if (options_.node_name.empty()) options_.node_name = default_node_name();
        if (options_.node_lease < std::chrono::milliseconds(300)) options_.node_lease = std::chrono::milliseconds(300);
    }

    ~Impl() override { shutdown(); }

    // ---- Lifecycle (any thread but the cluster's) ----

    std::optional<Error> start() {
        std::string why;
        auto url = detail::parse_redis_url(options_.url, why);
        if (!url) return Error{"redis-url", fmt::format("--redis {}: {}", options_.url, why)};
        url_ = *url;
        if (thread_.joinable()) return std::nullopt;
        thread_ = std::thread([this] {
            // hiredis writes with write(): to a Redis that has just reset the
            // connection, that raises SIGPIPE, which ends the host's whole
            // process unless it ignores the signal. Blocked on this thread
            // (hiredis writes only here), the write fails with EPIPE instead,
            // and the connection is made again as after any loss.
            sigset_t pipe;
            sigemptyset(&pipe);
            sigaddset(&pipe, SIGPIPE);
            pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
            io_.run();
        });
        net::post(io_, [this] { connect(); });
        std::unique_lock lock(mutex_);
        if (!state_changed_.wait_for(lock, options_.timeout * 2, [&] { return serving_.load(); }))
            return Error{"redis-unavailable", fmt::format("no answer from Redis at {}:{} within {} ms; still trying",
                                                          url_.host, url_.port, (options_.timeout * 2).count())};
        return std::nullopt;
    }

    void shutdown() {
        if (!thread_.joinable() || std::this_thread::get_id() == thread_.get_id()) return;
        // Leave for good: this node's users leave their rooms now, not after the lease.
        net::post(io_, [this] {
            stopping_ = true;
            auto finish = [this] {
                if (commands_) commands_->close();
                if (subscriber_) subscriber_->close();
                commands_.reset();
                subscriber_.reset();
                for (auto* t : {&renew_timer_, &check_timer_, &reconnect_timer_, &sweep_timer_})
                    t->cancel();
                work_.reset();
                io_.stop();
            };
            if (commands_ && commands_->connected() && node_id_ != 0) {
                eval(detail::scripts::deregister, {std::to_string(node_id_)},
                     [finish](std::optional<Reply>) { finish(); });
            } else {
                finish();
            }
        });
        thread_.join();
        serving_ = false;
    }

    bool serving() const { return serving_.load() && lease_ok(); }

    ClusterStats stats() const {
        ClusterStats s;
        s.redis_connected = redis_connected_.load();
        s.serving = serving();
        s.node_id = node_id_.load();
        s.nodes_alive = nodes_alive_.load();
        s.reconnects = reconnects_.load();
        s.fenced = fenced_.load();
        s.users_reaped = reaped_.load();
        s.deliveries_sent = sent_.load();
        s.deliveries_received = received_.load();
        s.cross_node_drops = drops_.load();
        return s;
    }

    const ClusterOptions& options() const noexcept { return options_; }

    // ---- Directory (adapter threads) ----

    std::optional<UserId> allocate_id() override {
        std::lock_guard lock(ids_mutex_);
        if (next_id_ == 0 || next_id_ > last_id_) {
            auto reply = await_eval(detail::scripts::reserve_ids, {std::to_string(id_block)});
            auto last = reply ? reply->as_integer() : -1;
            if (last <= 0) return std::nullopt;
            last_id_ = static_cast<UserId>(last);
            next_id_ = last_id_ - id_block + 1;
        }
        return next_id_++;
    }

    JoinOutcome join(const std::shared_ptr<Participant>& member, const Limits& limits) override {
        JoinOutcome out;
        if (!serving()) {
            out.refused = errc::cluster_unavailable;
            return out;
        }
        {
            std::lock_guard lock(mutex_);
            ++rooms_[member->room()].joining;
        }
        auto join = std::make_shared<PendingJoin>();
        net::post(io_, [this, join, member, limits] { begin_join(join, member, limits); });
        std::unique_lock lock(join->mutex);
        if (!join->answered.wait_for(lock, options_.timeout * 2, [&] { return join->done; })) {
            join->abandoned = true;  // the cluster thread undoes it if it succeeds later
            out.refused = errc::cluster_unavailable;
            return out;
        }
        return join->outcome;
    }

    void leave(Participant& member) override {
        bool was_here = false;
        {
            std::lock_guard lock(mutex_);
            auto user = local_.find(member.id());
            if (user != local_.end() && user->second.get() == &member) {
                local_.erase(user);
                was_here = true;
                auto room = rooms_.find(member.room());
                if (room != rooms_.end()) {
                    room->second.local.erase(member.id());
                    drop_if_unused(room);
                }
            }
        }
        if (!was_here) return;
        const auto id = member.id();
        const auto node = node_id_.load();
        net::post(io_, [this, id, node] { run_leave(id, node); });
    }

    bool contains(UserId id) const override {
        {
            std::lock_guard lock(mutex_);
            if (local_.count(id) != 0) return true;
        }
        auto reply = const_cast<Impl*>(this)->await_eval(detail::scripts::id_taken, {std::to_string(id)});
        return reply && reply->as_integer() == 1;
    }

    Delivery deliver(const std::string& room, UserId to, const Payload& message) override {
        if (!lease_ok()) return Delivery::no_such_user;
        std::shared_ptr<Participant> target;
        std::uint64_t node = 0;
        {
            std::lock_guard lock(mutex_);
            auto r = rooms_.find(room);
            if (r == rooms_.end()) return Delivery::no_such_user;
            if (auto local = r->second.local.find(to); local != r->second.local.end()) {
                target = local->second;
            } else if (auto remote = r->second.members.find(to); remote != r->second.members.end()) {
                node = remote->second.node;
            } else {
                return Delivery::no_such_user;
            }
        }
        if (target) return target->offer(message) ? Delivery::delivered : Delivery::refused;
        if (node == node_id_.load()) {
            std::lock_guard lock(mutex_);
            auto arriving = arriving_.find(to);                              // resumed here, being taken in
            if (arriving == arriving_.end()) return Delivery::no_such_user;  // ours, but not joined here
            arriving->second.push_back(message);
            return Delivery::delivered;
        }
        sent_.fetch_add(1, std::memory_order_relaxed);
        net::post(io_, [this, node, to, room, message] { forward(node, to, room, message); });
        return Delivery::delivered;
    }

    void announce(const Participant&, Presence) override {
        // Joins and leaves are announced by their Lua scripts, on the
        // room's channel, and delivered from there (apply_event) to every
        // node's users, this one's included: one order for all.
    }

    bool replace(const std::shared_ptr<Participant>& old, const std::shared_ptr<Participant>& now) override {
        std::lock_guard lock(mutex_);
        auto user = local_.find(old->id());
        if (user == local_.end() || user->second != old) return false;
        auto room = rooms_.find(old->room());
        if (room == rooms_.end()) return false;
        now->join_seq = old->join_seq;
        user->second = now;
        room->second.local[old->id()] = now;
        return true;
    }

    std::vector<switchboard::detail::PresentUser> members(const std::string& room) const override {
        std::vector<switchboard::detail::PresentUser> out;
        bool known = false;
        {
            std::lock_guard lock(mutex_);
            auto it = rooms_.find(room);
            if (it != rooms_.end() && it->second.initialized && !it->second.resyncing) {
                known = true;
                for (auto& [id, user] : it->second.members)
                    out.push_back({id, user.profile});
            }
        }
        if (!known) {
            // Nobody here is in it: ask Redis.
            auto reply = const_cast<Impl*>(this)->await_eval(detail::scripts::snapshot, {room});
            if (reply && reply->is_array() && !reply->elements.empty())
                for (auto& [id, user] : read_members(*reply, 1))
                    out.push_back({id, user.profile});
        }
        std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.id < b.id; });
        return out;
    }

    std::vector<std::string> room_names() const override {
        std::vector<std::string> out;
        auto reply = const_cast<Impl*>(this)->await_eval(detail::scripts::list_rooms, {});
        if (reply && reply->is_array())
            for (auto& e : reply->elements)
                out.push_back(e.text);
        std::sort(out.begin(), out.end());
        return out;
    }

    std::shared_ptr<Participant> local_member(UserId id) const override {
        std::lock_guard lock(mutex_);
        auto it = local_.find(id);
        return it == local_.end() ? nullptr : it->second;
    }

    Delivery deliver_to_user(UserId to, const Payload& message) override {
        if (!lease_ok()) return Delivery::no_such_user;
        if (auto target = local_member(to)) return target->offer(message) ? Delivery::delivered : Delivery::refused;
        auto where = locate(to);
        if (!where || where->first == node_id_.load()) return Delivery::no_such_user;
        sent_.fetch_add(1, std::memory_order_relaxed);
        net::post(io_,
                  [this, node = where->first, to, room = where->second, message] { forward(node, to, room, message); });
        return Delivery::delivered;
    }

    bool disconnect_elsewhere(UserId id, int code, std::string_view reason) override {
        auto where = locate(id);
        if (!where || where->first == node_id_.load()) return false;
        auto result = std::make_shared<std::promise<bool>>();
        auto answered = result->get_future();
        net::post(io_, [this, node = where->first, text = detail::disconnect_text(id, code, reason), result] {
            if (!commands_ || !redis_connected_) return result->set_value(false);
            commands_->command({"PUBLISH", node_channel(node), text}, [result](std::optional<Reply> reply) {
                result->set_value(reply && !reply->error() && reply->integer > 0);
            });
        });
        return answered.wait_for(options_.timeout * 2) == std::future_status::ready && answered.get();
    }

    void on_claim(ClaimHandler handler) override {
        std::lock_guard lock(claim_mutex_);  // waits for a claim being handled: the hub may be going away
        claim_handler_ = std::move(handler);
    }

    void on_removal(RemovalHandler handler) override {
        std::lock_guard lock(claim_mutex_);  // as on_claim
        removal_handler_ = std::move(handler);
    }

    std::optional<Claimed> claim_elsewhere(UserId id, const std::string& room, std::string_view secret) override {
        if (std::this_thread::get_id() == thread_.get_id() || !serving()) return std::nullopt;
        auto where = locate(id);
        if (!where || where->first == node_id_.load() || where->second != room) return std::nullopt;
        auto claim = std::make_shared<PendingClaim>();
        claim->id = id;
        auto answered = claim->result.get_future();
        const auto nonce = ++claim_nonce_;
        {
            std::lock_guard lock(claims_mutex_);
            claims_[nonce] = claim;
        }
        {
            // From now on, routed messages for it that reach this node wait for it.
            std::lock_guard lock(mutex_);
            arriving_[id];
        }
        auto not_coming = [this, id] {
            std::lock_guard lock(mutex_);
            arriving_.erase(id);
        };
        auto text = detail::claim_text({id, node_id_.load(), nonce, secret, room});
        net::post(io_, [this, node = where->first, text = std::move(text), nonce] {
            auto nobody = [this, nonce] {
                std::lock_guard lock(claims_mutex_);
                auto it = claims_.find(nonce);
                if (it == claims_.end() || it->second->settled) return;
                it->second->settled = true;
                it->second->result.set_value(std::nullopt);
                claims_.erase(it);
            };
            if (!commands_ || !redis_connected_) return nobody();
            commands_->command({"PUBLISH", node_channel(node), text}, [nobody](std::optional<Reply> reply) {
                if (!reply || reply->error() || reply->integer == 0) nobody();
            });
        });
        if (answered.wait_for(options_.timeout * 2) != std::future_status::ready) {
            std::lock_guard lock(claims_mutex_);
            if (!claim->settled) {
                claim->abandoned = true;
                not_coming();
                return std::nullopt;
            }
        }
        auto result = answered.get();
        if (!result) not_coming();
        return result;
    }

    bool adopt(const std::shared_ptr<Participant>& member) override {
        auto done = std::make_shared<std::promise<bool>>();
        auto adopted = done->get_future();
        const auto id = member->id();
        {
            std::lock_guard lock(mutex_);
            ++rooms_[member->room()].joining;
        }
        net::post(io_, [this, member, done, id] {
            auto finish = [this, member, done, id] {
                std::vector<Payload> arrived;
                bool ok = false;
                {
                    std::lock_guard lock(mutex_);
                    auto it = rooms_.find(member->room());
                    if (it != rooms_.end()) {
                        auto& room = it->second;
                        --room.joining;
                        if (room.initialized && lease_ok()) {
                            member->join_seq = room.seq;
                            room.members[id] = {node_id_.load(), member->profile};
                            room.local[id] = member;
                            local_[id] = member;
                            ok = true;
                        }
                        if (!ok) drop_if_unused(it);
                    }
                    if (auto q = arriving_.find(id); q != arriving_.end()) {
                        arrived = std::move(q->second);
                        arriving_.erase(q);
                    }
                }
                if (!ok) run_leave(id, node_id_);
                for (auto& m : arrived)
                    member->offer(std::move(m));
                done->set_value(ok);
            };
            bool known = false;
            {
                std::lock_guard lock(mutex_);
                auto it = rooms_.find(member->room());
                known = it != rooms_.end() && it->second.initialized && !it->second.resyncing;
            }
            if (known) return finish();
            resync(member->room(), finish);
        });
        return adopted.wait_for(options_.timeout * 2) == std::future_status::ready && adopted.get();
    }

    std::size_t room_count() const override {
        std::lock_guard lock(mutex_);
        std::size_t n = 0;
        for (auto& [name, room] : rooms_)
            n += room.local.empty() ? 0 : 1;
        return n;
    }

private:
    struct Remote {
        std::uint64_t node = 0;
        Profile profile;
    };
    struct Replica {
        std::unordered_map<UserId, Remote> members;  ///< every node's users
        std::unordered_map<UserId, std::shared_ptr<Participant>> local;
        bool initialized = false;  ///< members and seq hold a snapshot (else events wait in `pending`)
        bool resyncing = false;    ///< a fresh snapshot is on its way (events wait in `pending`)
        std::uint64_t seq = 0;     ///< the last event applied
        std::deque<detail::RoomEvent> history;
        std::vector<detail::RoomEvent> pending;
        int joining = 0;  ///< joins on their way to Redis
    };
    using Rooms = std::unordered_map<std::string, Replica>;
    using Deliveries = std::vector<std::pair<std::shared_ptr<Participant>, Payload>>;

    struct PendingJoin {
        std::mutex mutex;
        std::condition_variable answered;
        bool done = false;
        bool abandoned = false;
        JoinOutcome outcome;
    };

    struct PendingClaim {
        UserId id = 0;
        std::promise<std::optional<Claimed>> result;
        bool settled = false;    ///< result set (under claims_mutex_)
        bool abandoned = false;  ///< the claimant stopped waiting
    };

    struct Channel {
        bool subscribed = false;  ///< SUBSCRIBE sent on the current subscriber connection
        bool confirmed = false;   ///< and Redis confirmed it
        std::vector<std::function<void(bool)>> waiters;
    };

    bool lease_ok() const { return ticks(Clock::now()) < lease_deadline_.load(std::memory_order_relaxed); }

    template <class... Args>
    void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) const {
        if (level < options_.log_level || !options_.log_sink) return;
        options_.log_sink(level, fmt::format("cluster node {} ({}): {}", node_id_.load(), options_.node_name,
                                             fmt::format(format, std::forward<Args>(args)...)));
    }

    std::string key(std::string_view what) const { return options_.key_prefix + std::string(what); }
    std::string room_channel(const std::string& room) const { return key("ch:room:") + room; }
    std::string node_channel(std::uint64_t node) const { return key("ch:node:") + std::to_string(node); }

    /** From an adapter or host thread: the node and room of user `id`, from Redis; nullopt when nobody has it. */
    std::optional<std::pair<std::uint64_t, std::string>> locate(UserId id) {
        auto reply = await_eval(detail::scripts::locate_user, {std::to_string(id)});
        if (!reply || !reply->is_array() || reply->elements.size() != 2) return std::nullopt;
        auto node = reply->elements[0].text;
        std::uint64_t n = 0;
        auto [end, ec] = std::from_chars(node.data(), node.data() + node.size(), n);
        if (ec != std::errc() || end != node.data() + node.size() || n == 0) return std::nullopt;
        return std::make_pair(n, reply->elements[1].text);
    }

    /** Under mutex_: forget a room nobody here is in or joining. */
    void drop_if_unused(Rooms::iterator room) {
        if (room->second.local.empty() && room->second.joining == 0) rooms_.erase(room);
    }

    static void deliver_all(Deliveries& deliveries) {
        for (auto& [member, message] : deliveries)
            member->deliver(std::move(message));
        deliveries.clear();
    }

    // ---- Talking to Redis (cluster thread) ----

    void eval(const char* body, std::vector<std::string> args, AsyncConnection::ReplyHandler done) {
        std::vector<std::string> argv = {"EVAL", std::string(detail::scripts::common) + body, "0", options_.key_prefix};
        for (auto& a : args)
            argv.push_back(std::move(a));
        if (!commands_) {
            net::post(io_, [done = std::move(done)] { done(std::nullopt); });
            return;
        }
        commands_->command(argv, std::move(done));
    }

    /** From an adapter thread: run a script and wait (bounded) for its answer. */
    std::optional<Reply> await_eval(const char* body, std::vector<std::string> args) {
        if (std::this_thread::get_id() == thread_.get_id() || !thread_.joinable()) return std::nullopt;
        auto result = std::make_shared<std::promise<std::optional<Reply>>>();
        auto future = result->get_future();
        net::post(io_, [this, body, args = std::move(args), result]() mutable {
            if (!redis_connected_) return result->set_value(std::nullopt);
            eval(body, std::move(args), [result](std::optional<Reply> reply) { result->set_value(std::move(reply)); });
        });
        if (future.wait_for(options_.timeout * 2) != std::future_status::ready) return std::nullopt;
        auto reply = future.get();
        if (reply && reply->error()) {
            log(LogLevel::warn, "a script failed: {}", reply->text);
            return std::nullopt;
        }
        return reply;
    }

    void connect() {
        if (stopping_) return;
        auto commands = std::make_shared<AsyncConnection>(io_, options_.timeout);
        auto subscriber = std::make_shared<AsyncConnection>(io_, options_.timeout);
        commands_ = commands;
        subscriber_ = subscriber;
        subscriber->on_push([this](const Reply& r) { on_push(r); });
        auto up = std::make_shared<int>(0);
        auto ready = [this, up, commands](const std::string& error) {
            if (commands != commands_) return;  // a later attempt replaced this one
            if (!error.empty()) return connection_down(error);
            if (++*up == 2) connected();
        };
        auto down = [this, commands](const std::string& why) {
            if (commands == commands_) connection_down(why);
        };
        commands->connect(url_, ready, down);
        subscriber->connect(url_, ready, down);
    }

    void connection_down(const std::string& why) {
        if (stopping_) return;
        if (redis_connected_.exchange(false))
            log(LogLevel::warn, "lost Redis: {}", why);
        else
            log(LogLevel::debug, "cannot reach Redis: {}", why);
        serving_ = false;  // no joins until renewed and resynchronised; existing users carry on within the lease
        if (commands_) commands_->close();
        if (subscriber_) subscriber_->close();
        commands_.reset();
        subscriber_.reset();
        for (auto& [name, channel] : channels_)
            fail_waiters(channel);
        channels_.clear();
        heartbeat_pending_ = false;
        // Back off: 100 ms doubling to 2 s, with jitter, so that nodes do not reconnect in step.
        backoff_ = std::min(std::chrono::milliseconds(2000), backoff_ * 2);
        std::uniform_int_distribution<long> jitter(0, backoff_.count() / 2);
        reconnect_timer_.expires_after(backoff_ + std::chrono::milliseconds(jitter(random_)));
        reconnect_timer_.async_wait([this](boost::system::error_code ec) {
            if (!ec) connect();
        });
        start_checks();
    }

    static void fail_waiters(Channel& channel) {
        auto waiters = std::move(channel.waiters);
        channel.waiters.clear();
        for (auto& w : waiters)
            w(false);
    }

    void connected() {
        backoff_ = std::chrono::milliseconds(50);
        if (ever_connected_) reconnects_.fetch_add(1, std::memory_order_relaxed);
        ever_connected_ = true;
        redis_connected_ = true;
        log(LogLevel::info, "connected to Redis at {}:{}", url_.host, url_.port);
        if (node_id_ == 0) return register_node();
        // Back within the lease (or so we hope): renew first; fenced means start over.
        renew([this](bool alive) {
            if (alive) resubscribe();
        });
    }

    void register_node() {
        const auto sent = Clock::now();
        eval(detail::scripts::register_node, {std::to_string(options_.node_lease.count())},
             [this, sent](std::optional<Reply> reply) {
                 auto node = reply ? reply->as_integer() : -1;
                 if (node <= 0) return connection_down("cannot register the node: " + (reply ? reply->text : ""));
                 node_id_ = static_cast<std::uint64_t>(node);
                 lease_deadline_ = ticks(sent + options_.node_lease);
                 log(LogLevel::info, "joined the cluster, lease {} ms", options_.node_lease.count());
                 resubscribe();
             });
    }

    /** Subscribe to this node's channel and every room's here, resynchronise the rooms, then serve. */
    void resubscribe() {
        ensure_subscribed(node_channel(node_id_), [this](bool ok) {
            if (!ok) return;
            std::vector<std::string> rooms;
            {
                std::lock_guard lock(mutex_);
                for (auto& [name, room] : rooms_) {
                    rooms.push_back(name);
                    room.resyncing = true;
                }
            }
            auto left = std::make_shared<std::size_t>(rooms.size());
            auto serve = [this] {
                {
                    std::lock_guard lock(mutex_);
                    serving_ = true;
                }
                flush_leaves();
                state_changed_.notify_all();
                start_checks();
            };
            if (rooms.empty()) return serve();
            for (auto& room : rooms)
                resync(room, [left, serve] {
                    if (--*left == 0) serve();
                });
        });
    }

    void ensure_subscribed(const std::string& channel, std::function<void(bool)> then) {
        if (!subscriber_ || !subscriber_->connected()) return then(false);
        auto& c = channels_[channel];
        if (c.confirmed) return then(true);
        c.waiters.push_back(std::move(then));
        if (!c.subscribed) {
            c.subscribed = true;
            subscriber_->subscribe(channel);
        }
    }

    /** Fetch the room as it is now and tell the users here what changed while events were lost. */
    void resync(const std::string& room, std::function<void()> done) {
        ensure_subscribed(room_channel(room), [this, room, done](bool ok) {
            if (!ok) return done();
            eval(detail::scripts::snapshot, {room}, [this, room, done](std::optional<Reply> reply) {
                if (reply && reply->is_array() && !reply->elements.empty()) apply_resync(room, *reply);
                done();
            });
        });
    }

    void apply_resync(const std::string& name, const Reply& reply) {
        Deliveries out;
        auto users = read_members(reply, 1);
        {
            std::lock_guard lock(mutex_);
            auto it = rooms_.find(name);
            if (it == rooms_.end()) return;
            auto& room = it->second;
            const auto seq = static_cast<std::uint64_t>(reply.elements[0].as_integer(0));
            std::unordered_map<UserId, Remote> now;
            for (auto& user : users)
                now[user.first] = std::move(user.second);
            if (room.initialized) {
                for (auto& [id, user] : room.members)
                    if (now.count(id) == 0) tell_room(room, presence_message(Presence::left, id, nullptr), id, 0, out);
                for (auto& [id, user] : now)
                    if (room.members.count(id) == 0)
                        tell_room(room, presence_message(Presence::joined, id, user.profile), id, 0, out);
            }
            room.members = std::move(now);
            room.seq = seq;
            room.initialized = true;
            room.resyncing = false;
            room.history.clear();
            apply_pending(room, out, name);
        }
        deliver_all(out);
    }

    /**
     * The (id, node, profile) triples of a script's answer from element
     * `first` on. A profile that is not a JSON object reads as "{}".
     */
    static std::vector<std::pair<UserId, Remote>> read_members(const Reply& reply, std::size_t first) {
        std::vector<std::pair<UserId, Remote>> out;
        for (std::size_t i = first; i + 2 < reply.elements.size(); i += 3) {
            auto profile = nlohmann::json::parse(reply.elements[i + 2].text, nullptr, false);
            out.push_back(
                {static_cast<UserId>(reply.elements[i].as_integer(0)),
                 {static_cast<std::uint64_t>(reply.elements[i + 1].as_integer(0)),
                  std::make_shared<const std::string>(
                      profile.is_object() ? profile.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                                          : "{}")}});
        }
        return out;
    }

    /** Under mutex_: queue `message` for every user here in `room` but `about` (joined before `before`, 0: all). */
    static void tell_room(Replica& room, const Payload& message, UserId about, std::uint64_t before, Deliveries& out) {
        for (auto& [id, member] : room.local)
            if (id != about && (before == 0 || member->join_seq < before)) out.emplace_back(member, message);
    }

    /** Under mutex_: apply one event in order; a gap (lost events) triggers a resynchronisation. */
    void apply_event(const std::string& name, Replica& room, const detail::RoomEvent& e, Deliveries& out) {
        if (!room.initialized || room.resyncing) return room.pending.push_back(e);
        if (e.seq <= room.seq) return;
        if (e.seq != room.seq + 1) {
            log(LogLevel::warn, "room '{}': event {} after {}: resynchronising", name, e.seq, room.seq);
            room.resyncing = true;
            room.pending.push_back(e);
            net::post(io_, [this, name] { resync(name, [] {}); });
            return;
        }
        room.seq = e.seq;
        room.history.push_back(e);
        if (room.history.size() > history_limit) room.history.pop_front();
        if (e.moved) {
            // Resumed on another node: routing changes, presence does not.
            if (auto m = room.members.find(e.id); m != room.members.end()) m->second.node = e.node;
        } else if (e.joined) {
            auto& user = room.members[e.id] = {e.node, std::make_shared<const std::string>(e.profile)};
            tell_room(room, presence_message(Presence::joined, e.id, user.profile), e.id, e.seq, out);
        } else {
            room.members.erase(e.id);
            tell_room(room, presence_message(Presence::left, e.id, nullptr), e.id, e.seq, out);
        }
    }

    void apply_pending(Replica& room, Deliveries& out, const std::string& name) {
        auto pending = std::move(room.pending);
        room.pending.clear();
        std::sort(pending.begin(), pending.end(), [](auto& a, auto& b) { return a.seq < b.seq; });
        for (auto& e : pending)
            apply_event(name, room, e, out);
    }

    // ---- Joins (cluster thread) ----

    void begin_join(const std::shared_ptr<PendingJoin>& join, const std::shared_ptr<Participant>& member,
                    const Limits& limits) {
        ensure_subscribed(room_channel(member->room()), [this, join, member, limits](bool ok) {
            if (!ok) return finish_join(join, member, std::nullopt);
            eval(detail::scripts::join,
                 {member->room(), std::to_string(member->id()), std::to_string(node_id_), member->remote_address,
                  std::to_string(limits.max_users_per_room), std::to_string(limits.max_rooms),
                  std::to_string(limits.max_connections_per_address), std::to_string(limits.max_rooms_per_address),
                  *member->profile},
                 [this, join, member](std::optional<Reply> reply) { finish_join(join, member, std::move(reply)); });
        });
    }

    void finish_join(const std::shared_ptr<PendingJoin>& join, const std::shared_ptr<Participant>& member,
                     std::optional<Reply> reply) {
        const bool ok = reply && reply->is_array() && reply->elements.size() >= 2 && reply->elements[0].text == "ok" &&
                        reply->elements.size() % 3 == 2;
        // Parsed before the lock: up to a room's worth of profiles.
        auto present = ok ? read_members(*reply, 2) : std::vector<std::pair<UserId, Remote>>{};
        std::lock_guard answer(join->mutex);
        JoinOutcome& out = join->outcome;
        Deliveries deliveries;
        bool undo = ok && join->abandoned;
        {
            std::lock_guard lock(mutex_);
            auto it = rooms_.find(member->room());
            if (it == rooms_.end()) it = rooms_.emplace(member->room(), Replica{}).first;
            auto& room = it->second;
            --room.joining;
            if (!ok) {
                std::string code =
                    reply && reply->is_array() && !reply->elements.empty() ? reply->elements[0].text : std::string();
                if (code == "room-full") {
                    out.refused = errc::room_full;
                } else if (code == "too-many-rooms") {
                    out.refused = errc::too_many_rooms;
                } else if (code == "too-many-rooms-per-address") {
                    out.refused = errc::too_many_rooms;
                    out.per_address = true;
                } else if (code == "too-many-connections") {
                    out.refused = errc::too_many_connections;
                } else {
                    out.refused = errc::cluster_unavailable;
                    if (!code.empty() || (reply && reply->error()))
                        log(LogLevel::warn, "join of user {} refused: {}", member->id(),
                            code.empty() ? reply->text : code);
                }
            } else if (!undo) {
                const auto seq = static_cast<std::uint64_t>(reply->elements[1].as_integer(0));
                if (!room.initialized) {
                    room.members.clear();
                    for (auto& [id, user] : present)
                        room.members[id] = user;
                    room.seq = seq;
                    room.initialized = true;
                } else if (seq > room.seq) {
                    // Events up to `seq` are still on their way: they will tell the others.
                    for (auto& [id, user] : present)
                        room.members.emplace(id, user);
                } else if (!room.history.empty() && room.history.front().seq <= seq + 1) {
                    // Events after `seq` were applied before this answer came: replay them to the newcomer.
                    for (auto& e : room.history)
                        if (e.seq > seq && e.id != member->id() && !e.moved)
                            deliveries.emplace_back(member,
                                                    presence_message(e.joined ? Presence::joined : Presence::left, e.id,
                                                                     std::make_shared<const std::string>(e.profile)));
                } else if (seq < room.seq) {
                    undo = true;  // too far behind to catch up: refuse, the client tries again
                    out.refused = errc::cluster_unavailable;
                }
                if (!undo) {
                    member->join_seq = seq;
                    room.members[member->id()] = {node_id_, member->profile};
                    room.local[member->id()] = member;
                    local_[member->id()] = member;
                    apply_pending(room, deliveries, member->room());
                    out.present.reserve(present.size());
                    for (auto& [id, user] : present)
                        out.present.push_back({id, user.profile});
                    std::sort(out.present.begin(), out.present.end(), [](auto& a, auto& b) { return a.id < b.id; });
                }
            }
            if (undo || out.refused) drop_if_unused(it);
        }
        if (undo) run_leave(member->id(), node_id_);
        join->done = true;
        join->answered.notify_all();
        // The newcomer's queue holds these until its login went out (Participant::welcome).
        deliver_all(deliveries);
    }

    // ---- Leaves, routing, subscriptions (cluster thread) ----

    void run_leave(UserId id, std::uint64_t node) {
        if (node != node_id_ || node == 0) return;  // fenced since: the others have reaped it
        if (!redis_connected_) return pending_leaves_.push_back(id);
        eval(detail::scripts::leave, {std::to_string(id), std::to_string(node)},
             [this, id, node](std::optional<Reply> reply) {
                 if (!reply && node == node_id_) pending_leaves_.push_back(id);
             });
    }

    void flush_leaves() {
        auto leaves = std::move(pending_leaves_);
        pending_leaves_.clear();
        for (auto id : leaves)
            run_leave(id, node_id_);
    }

    void forward(std::uint64_t node, UserId to, const std::string& room, const Payload& message) {
        if (!redis_connected_ || !commands_) {
            drops_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        commands_->command({"PUBLISH", node_channel(node), detail::routed_message_text(to, room, *message)},
                           [this](std::optional<Reply> reply) {
                               // 0 receivers: that node is gone.
                               if (!reply || reply->error() || reply->integer == 0)
                                   drops_.fetch_add(1, std::memory_order_relaxed);
                           });
    }

    void on_push(const Reply& r) {
        if (!r.is_array() || r.elements.size() < 3) return;
        const auto& kind = r.elements[0].text;
        const auto& channel = r.elements[1].text;
        if (kind == "subscribe") {
            auto it = channels_.find(channel);
            if (it == channels_.end() || !it->second.subscribed) return;
            it->second.confirmed = true;
            auto waiters = std::move(it->second.waiters);
            it->second.waiters.clear();
            for (auto& w : waiters)
                w(true);
            return;
        }
        if (kind != "message") return;
        const auto& text = r.elements[2].text;
        const auto room_prefix = key("ch:room:");
        if (channel.compare(0, room_prefix.size(), room_prefix) == 0) {
            auto event = detail::parse_room_event(text);
            if (!event) return log(LogLevel::warn, "dropped a malformed event on {}", channel);
            Deliveries out;
            {
                std::lock_guard lock(mutex_);
                auto name = channel.substr(room_prefix.size());
                auto it = rooms_.find(name);
                if (it != rooms_.end()) apply_event(name, it->second, *event, out);
            }
            deliver_all(out);
            return;
        }
        if (channel != node_channel(node_id_)) return;
        if (text.rfind("h ", 0) == 0) {
            if (heartbeat_pending_ && text == heartbeat_text_) heartbeat_pending_ = false;
            return;
        }
        if (text.rfind("c ", 0) == 0) {
            auto claim = detail::parse_claim(text);
            if (!claim) return log(LogLevel::warn, "dropped a malformed claim on {}", channel);
            return handle_claim(*claim);
        }
        if (text.rfind("C ", 0) == 0) {
            auto answer = detail::parse_claim_answer(text);
            if (!answer) return log(LogLevel::warn, "dropped a malformed claim answer on {}", channel);
            return handle_claim_answer(std::move(*answer));
        }
        if (text.rfind("k ", 0) == 0) {
            auto kick = detail::parse_disconnect(text);
            if (!kick) return log(LogLevel::warn, "dropped a malformed disconnect on {}", channel);
            {
                // Waiting here to resume (still a member, its connection gone): it leaves now, for good.
                std::lock_guard lock(claim_mutex_);
                if (removal_handler_ && removal_handler_(kick->id)) return;
            }
            if (auto member = local_member(kick->id)) {
                log(LogLevel::info, "closing user {} as another node asked ({} {})", kick->id, kick->code,
                    kick->reason);
                member->connection->close(kick->code, kick->reason);
            }
            return;
        }
        auto routed = detail::parse_routed_message(text);
        if (!routed) return log(LogLevel::warn, "dropped a malformed message on {}", channel);
        received_.fetch_add(1, std::memory_order_relaxed);
        std::shared_ptr<Participant> target;
        auto message = std::make_shared<const std::string>(routed->message);
        {
            std::lock_guard lock(mutex_);
            auto it = local_.find(routed->to);
            if (it != local_.end() && it->second->room() == routed->room) {
                target = it->second;
            } else if (auto arriving = arriving_.find(routed->to); arriving != arriving_.end()) {
                return arriving->second.push_back(std::move(message));  // resumed here, being taken in
            }
        }
        if (!target) {
            // Resumed on another node a moment ago: send it on, until every node routes there.
            if (auto moved = moved_.find(routed->to); moved != moved_.end())
                return forward(moved->second.first, routed->to, std::string(routed->room), message);
        }
        if (!target || !target->offer(std::move(message))) drops_.fetch_add(1, std::memory_order_relaxed);
    }

    // ---- Resume on another node (cluster thread) ----

    /** Another node has a resume for a user that may be waiting here. */
    void handle_claim(const detail::Claim& claim) {
        const std::string room(claim.room);
        const auto id = claim.id, to = claim.node, nonce = claim.nonce;
        std::optional<Claimed> claimed;
        {
            std::lock_guard lock(claim_mutex_);
            if (claim_handler_) claimed = claim_handler_(id, room, claim.secret);
        }
        auto answer = [this, to](const detail::ClaimAnswer& a) {
            if (commands_)
                commands_->command({"PUBLISH", node_channel(to), detail::claim_answer_text(a)},
                                   [](std::optional<Reply>) {});
        };
        if (!claimed) return answer({nonce, false, {}, {}});
        // It is no longer ours: nobody is told; what still comes here goes on to `to`.
        {
            std::lock_guard lock(mutex_);
            local_.erase(id);
            if (auto r = rooms_.find(room); r != rooms_.end()) {
                r->second.local.erase(id);
                if (auto m = r->second.members.find(id); m != r->second.members.end()) m->second.node = to;
                drop_if_unused(r);
            }
        }
        moved_[id] = {to, Clock::now() + std::chrono::seconds(10)};
        const auto own = node_id_.load();
        eval(detail::scripts::move_user, {std::to_string(id), std::to_string(own), std::to_string(to)},
             [this, id, own, to, nonce, answer, claimed = std::move(*claimed)](std::optional<Reply> reply) {
                 if (!reply || reply->as_integer(0) != 1) {
                     log(LogLevel::warn, "could not hand user {} over to node {}: it leaves", id, to);
                     moved_.erase(id);
                     answer({nonce, false, {}, {}});
                     return run_leave(id, own);
                 }
                 detail::ClaimAnswer a{nonce, true, *claimed.profile, {}};
                 for (auto& m : claimed.kept)
                     a.kept.push_back(*m);
                 answer(a);
             });
    }

    /** The answer to a claim this node made. */
    void handle_claim_answer(detail::ClaimAnswer answer) {
        std::shared_ptr<PendingClaim> claim;
        {
            std::lock_guard lock(claims_mutex_);
            auto it = claims_.find(answer.nonce);
            if (it == claims_.end()) return;
            claim = it->second;
            claims_.erase(it);
            if (claim->settled) return;
            claim->settled = true;
            if (claim->abandoned) {
                // The user was handed to us after we stopped waiting: let it go.
                if (answer.granted) run_leave(claim->id, node_id_);
                return;
            }
        }
        if (!answer.granted) return claim->result.set_value(std::nullopt);
        Claimed c{std::make_shared<const std::string>(std::move(answer.profile)), {}};
        for (auto& m : answer.kept)
            c.kept.push_back(std::make_shared<const std::string>(std::move(m)));
        claim->result.set_value(std::move(c));
    }

    // ---- Lease, heartbeat, fencing (cluster thread) ----

    void renew(std::function<void(bool alive)> then) {
        const auto sent = Clock::now();
        const auto node = node_id_.load();
        eval(detail::scripts::renew, {std::to_string(node), std::to_string(options_.node_lease.count())},
             [this, sent, node, then](std::optional<Reply> reply) {
                 if (node != node_id_) return;
                 if (!reply || !reply->is_array() || reply->elements.empty()) return;  // down: handled there
                 if (reply->elements[0].as_integer(0) == 0) {
                     fence("another node found this node's lease expired");
                     return then(false);
                 }
                 lease_deadline_ = ticks(sent + options_.node_lease);
                 if (reply->elements.size() >= 3) {
                     nodes_alive_ = static_cast<std::uint64_t>(reply->elements[1].as_integer(0));
                     auto reaped = reply->elements[2].as_integer(0);
                     if (reaped > 0) {
                         reaped_.fetch_add(static_cast<std::uint64_t>(reaped), std::memory_order_relaxed);
                         log(LogLevel::info, "removed {} users of nodes whose lease ran out", reaped);
                     }
                 }
                 then(true);
             });
    }

    /** Closes every user here: the cluster no longer counts them (or cannot know). Then joins again as a new node. */
    void fence(const std::string& why) {
        log(LogLevel::warn, "fenced ({}): closing {} users; they reconnect", why, local_count());
        fenced_.fetch_add(1, std::memory_order_relaxed);
        serving_ = false;
        lease_deadline_ = 0;
        std::vector<std::shared_ptr<Participant>> members;
        {
            std::lock_guard lock(mutex_);
            for (auto& [id, member] : local_)
                members.push_back(member);
            local_.clear();
            rooms_.clear();
        }
        if (subscriber_ && node_id_ != 0) subscriber_->unsubscribe(node_channel(node_id_));
        channels_.erase(node_channel(node_id_));
        node_id_ = 0;
        pending_leaves_.clear();
        for (auto& m : members)
            m->connection->close(close_code::try_again_later, "cluster-fenced");
        if (redis_connected_) register_node();
    }

    std::size_t local_count() const {
        std::lock_guard lock(mutex_);
        return local_.size();
    }

    /** Every third of the lease: renew and heartbeat; every 100 ms: is the lease still ours, is the heartbeat back? */
    void start_checks() {
        if (checks_started_) return;
        checks_started_ = true;
        tick_renew();
        tick_check();
        tick_sweep();
    }

    void tick_renew() {
        renew_timer_.expires_after(options_.node_lease / 3);
        renew_timer_.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            if (redis_connected_ && node_id_ != 0) {
                renew([](bool) {});
                if (!heartbeat_pending_ && subscriber_ && subscriber_->connected()) {
                    heartbeat_text_ = fmt::format("h {}", ++heartbeat_nonce_);
                    heartbeat_pending_ = true;
                    heartbeat_sent_ = Clock::now();
                    commands_->command({"PUBLISH", node_channel(node_id_), heartbeat_text_},
                                       [](std::optional<Reply>) {});
                }
            }
            tick_renew();
        });
    }

    void tick_check() {
        check_timer_.expires_after(std::chrono::milliseconds(100));
        check_timer_.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            if (node_id_ != 0 && !lease_ok() && local_count() + (serving_ ? 1 : 0) > 0)
                fence("the lease could not be renewed in time");
            if (heartbeat_pending_ && Clock::now() - heartbeat_sent_ > options_.timeout * 2)
                connection_down("the subscription stopped delivering (its own heartbeat did not come back)");
            tick_check();
        });
    }

    /** Unsubscribe from rooms nobody here is in any more. */
    void tick_sweep() {
        sweep_timer_.expires_after(std::chrono::seconds(2));
        sweep_timer_.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            for (auto it = moved_.begin(); it != moved_.end();)
                it = it->second.second < Clock::now() ? moved_.erase(it) : std::next(it);
            const auto prefix = key("ch:room:");
            std::vector<std::string> unused;
            {
                std::lock_guard lock(mutex_);
                for (auto& [channel, state] : channels_)
                    if (channel.compare(0, prefix.size(), prefix) == 0 && state.waiters.empty() &&
                        rooms_.count(channel.substr(prefix.size())) == 0)
                        unused.push_back(channel);
            }
            for (auto& channel : unused) {
                if (subscriber_) subscriber_->unsubscribe(channel);
                channels_.erase(channel);
            }
            tick_sweep();
        });
    }

    ClusterOptions options_;
    detail::RedisUrl url_;
    net::io_context io_;
    net::executor_work_guard<net::io_context::executor_type> work_;
    std::thread thread_;

    // Shared with adapter threads.
    mutable std::mutex mutex_;
    std::condition_variable state_changed_;
    Rooms rooms_;
    std::unordered_map<UserId, std::shared_ptr<Participant>> local_;
    std::mutex ids_mutex_;
    UserId next_id_ = 0, last_id_ = 0;
    std::atomic<bool> serving_{false}, redis_connected_{false};
    std::atomic<std::int64_t> lease_deadline_{0};
    std::atomic<std::uint64_t> node_id_{0}, nodes_alive_{0}, reconnects_{0}, fenced_{0}, reaped_{0};
    std::atomic<std::uint64_t> sent_{0}, received_{0}, drops_{0};

    // Resume on another node.
    std::mutex claim_mutex_;
    ClaimHandler claim_handler_;
    RemovalHandler removal_handler_;
    std::mutex claims_mutex_;
    std::unordered_map<std::uint64_t, std::shared_ptr<PendingClaim>> claims_;
    std::atomic<std::uint64_t> claim_nonce_{0};
    /** Under mutex_: users claimed by this node, not taken in yet, and the messages routed to them meanwhile. */
    std::unordered_map<UserId, std::vector<Payload>> arriving_;

    // The cluster thread's own.
    /** Users that resumed on another node lately: node, and until when messages are sent on. */
    std::unordered_map<UserId, std::pair<std::uint64_t, Clock::time_point>> moved_;
    std::shared_ptr<AsyncConnection> commands_, subscriber_;
    std::unordered_map<std::string, Channel> channels_;
    std::vector<UserId> pending_leaves_;
    net::steady_timer renew_timer_{io_}, check_timer_{io_}, reconnect_timer_{io_}, sweep_timer_{io_};
    std::chrono::milliseconds backoff_{50};
    std::mt19937 random_{std::random_device{}()};
    bool stopping_ = false, ever_connected_ = false, checks_started_ = false;
    bool heartbeat_pending_ = false;
    std::uint64_t heartbeat_nonce_ = 0;
    std::string heartbeat_text_;
    Clock::time_point heartbeat_sent_;
};

Cluster::Cluster(ClusterOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {}

Cluster::~Cluster() {
    impl_->shutdown();
}

std::optional<Error> Cluster::start() {
    return impl_->start();
}

std::shared_ptr<switchboard::detail::Directory> Cluster::directory() const {
    return impl_;
}

bool Cluster::serving() const {
    return impl_->serving();
}

ClusterStats Cluster::stats() const {
    return impl_->stats();
}

const ClusterOptions& Cluster::options() const noexcept {
    return impl_->options();
}

}  // namespace switchboard::redis

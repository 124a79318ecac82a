// The in-process Directory: one registry guarded by one reader/writer lock.
// Routing takes the lock shared; joins and leaves take it exclusively.
#include <algorithm>
#include <atomic>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include <fmt/format.h>

#include "detail/directory.hpp"

namespace switchboard::detail {
namespace {

class LocalDirectory final : public Directory {
public:
    std::optional<UserId> allocate_id() override { return next_id_.fetch_add(1, std::memory_order_relaxed); }

    JoinOutcome join(const std::shared_ptr<Participant>& member, const Limits& limits) override {
        JoinOutcome out;
        std::unique_lock lock(mutex_);
        const std::string& address = member->remote_address;
        auto counts = address.empty() ? addresses_.end() : addresses_.find(address);
        auto it = rooms_.find(member->room());
        if (counts != addresses_.end() && limits.max_connections_per_address != 0 &&
            counts->second.connections >= limits.max_connections_per_address) {
            out.refused = errc::too_many_connections;
            return out;
        }
        if (it == rooms_.end()) {
            if (rooms_.size() >= limits.max_rooms) {
                out.refused = errc::too_many_rooms;
                return out;
            }
            if (counts != addresses_.end() && limits.max_rooms_per_address != 0 &&
                counts->second.rooms_opened >= limits.max_rooms_per_address) {
                out.refused = errc::too_many_rooms;
                out.per_address = true;
                return out;
            }
        } else if (it->second.members.size() >= limits.max_users_per_room) {
            out.refused = errc::room_full;
            return out;
        }
        if (users_.count(member->id()) != 0) throw std::logic_error("user ID joined twice");
        if (it == rooms_.end()) {
            it = rooms_.emplace(member->room(), Room{{}, address}).first;
            if (!address.empty()) ++addresses_[address].rooms_opened;
        }
        auto& room = it->second.members;
        out.present.reserve(room.size());
        for (auto& m : room)
            out.present.push_back({m->id(), m->profile});
        std::sort(out.present.begin(), out.present.end(), [](auto& x, auto& y) { return x.id < y.id; });
        member->join_seq = ++join_seq_;
        member->room_slot = room.size();
        room.push_back(member);
        users_.emplace(member->id(), member);
        if (!address.empty()) ++addresses_[address].connections;
        return out;
    }

    void leave(Participant& member) override {
        std::unique_lock lock(mutex_);
        auto user = users_.find(member.id());
        if (user == users_.end() || user->second.get() != &member) return;
        users_.erase(user);
        if (!member.remote_address.empty()) release(member.remote_address, &AddressCounts::connections);
        auto it = rooms_.find(member.room());
        if (it == rooms_.end()) return;
        auto& room = it->second.members;
        std::size_t slot = member.room_slot;
        if (slot < room.size() && room[slot].get() == &member) {
            if (slot != room.size() - 1) {
                room[slot] = std::move(room.back());
                room[slot]->room_slot = slot;
            }
            room.pop_back();
        }
        if (room.empty()) {
            if (!it->second.opened_by.empty()) release(it->second.opened_by, &AddressCounts::rooms_opened);
            rooms_.erase(it);
        }
    }

    bool contains(UserId id) const override {
        std::shared_lock lock(mutex_);
        return users_.count(id) != 0;
    }

    Delivery deliver(const std::string& room, UserId to, const Payload& message) override {
        std::shared_ptr<Participant> target;
        {
            std::shared_lock lock(mutex_);
            auto it = users_.find(to);
            if (it == users_.end() || it->second->room() != room) return Delivery::no_such_user;
            target = it->second;
        }
        return target->offer(message) ? Delivery::delivered : Delivery::refused;
    }

    void announce(const Participant& member, Presence what) override {
        // A newcomer is news to those who joined before it; a leaver to everyone left.
        const std::uint64_t before = what == Presence::joined ? member.join_seq : join_seq_limit;
        std::vector<std::shared_ptr<Participant>> targets;
        {
            std::shared_lock lock(mutex_);
            auto it = rooms_.find(member.room());
            if (it == rooms_.end()) return;
            targets.reserve(it->second.members.size());
            for (auto& m : it->second.members)
                if (m.get() != &member && m->join_seq < before) targets.push_back(m);
        }
        if (targets.empty()) return;
        auto message = presence_message(what, member.id(), member.profile);
        for (auto& m : targets)
            m->deliver(message);
    }

    bool replace(const std::shared_ptr<Participant>& old, const std::shared_ptr<Participant>& now) override {
        std::unique_lock lock(mutex_);
        auto user = users_.find(old->id());
        if (user == users_.end() || user->second != old) return false;
        auto room = rooms_.find(old->room());
        if (room == rooms_.end()) return false;
        auto& members = room->second.members;
        if (old->room_slot >= members.size() || members[old->room_slot] != old) return false;
        now->join_seq = old->join_seq;
        now->room_slot = old->room_slot;
        members[old->room_slot] = now;
        user->second = now;
        return true;
    }

    std::vector<PresentUser> members(const std::string& room) const override {
        std::vector<PresentUser> out;
        std::shared_lock lock(mutex_);
        auto it = rooms_.find(room);
        if (it == rooms_.end()) return out;
        out.reserve(it->second.members.size());
        for (auto& m : it->second.members)
            out.push_back({m->id(), m->profile});
        lock.unlock();
        std::sort(out.begin(), out.end(), [](auto& x, auto& y) { return x.id < y.id; });
        return out;
    }

    std::vector<std::string> room_names() const override {
        std::vector<std::string> out;
        std::shared_lock lock(mutex_);
        out.reserve(rooms_.size());
        for (auto& [name, room] : rooms_)
            out.push_back(name);
        lock.unlock();
        std::sort(out.begin(), out.end());
        return out;
    }

    std::shared_ptr<Participant> local_member(UserId id) const override {
        std::shared_lock lock(mutex_);
        auto it = users_.find(id);
        return it == users_.end() ? nullptr : it->second;
    }

    Delivery deliver_to_user(UserId to, const Payload& message) override {
        auto target = local_member(to);
        if (!target) return Delivery::no_such_user;
        return target->offer(message) ? Delivery::delivered : Delivery::refused;
    }

    bool disconnect_elsewhere(UserId, int, std::string_view) override { return false; }

    std::size_t room_count() const override {
        std::shared_lock lock(mutex_);
        return rooms_.size();
    }

private:
    struct Room {
        std::vector<std::shared_ptr<Participant>> members;
        std::string opened_by;  // the address of its first user; "" for a local participant
    };
    struct AddressCounts {
        std::size_t connections = 0;
        std::size_t rooms_opened = 0;  // still open
    };

    /** Under the lock: one fewer of `what` for `address`; an address with nothing left is forgotten. */
    void release(const std::string& address, std::size_t AddressCounts::*what) {
        auto it = addresses_.find(address);
        if (it == addresses_.end()) return;
        --(it->second.*what);
        if (it->second.connections == 0 && it->second.rooms_opened == 0) addresses_.erase(it);
    }

    static constexpr std::uint64_t join_seq_limit = std::numeric_limits<std::uint64_t>::max();

    std::atomic<UserId> next_id_{1};  // 0 is the host's
    mutable std::shared_mutex mutex_;
    std::uint64_t join_seq_ = 0;
    std::unordered_map<UserId, std::shared_ptr<Participant>> users_;
    std::unordered_map<std::string, Room> rooms_;
    std::unordered_map<std::string, AddressCounts> addresses_;
};

}  // namespace

std::shared_ptr<Directory> make_local_directory() {
    return std::make_shared<LocalDirectory>();
}

}  // namespace switchboard::detail

// The in-process Directory: one registry guarded by one reader/writer lock.
// Routing takes the lock shared; joins and leaves take it exclusively.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "detail/directory.hpp"

namespace switchboard::detail {
namespace {

class LocalDirectory final : public Directory {
public:
    UserId allocate_id() override { return next_id_.fetch_add(1, std::memory_order_relaxed); }

    JoinOutcome join(const std::shared_ptr<Member>& member, std::size_t max_users_per_room,
                     std::size_t max_rooms) override {
        JoinOutcome out;
        std::unique_lock lock(mutex_);
        auto it = rooms_.find(member->room());
        if (it == rooms_.end()) {
            if (rooms_.size() >= max_rooms) {
                out.refused = errc::too_many_rooms;
                return out;
            }
        } else if (it->second.size() >= max_users_per_room) {
            out.refused = errc::room_full;
            return out;
        }
        if (users_.count(member->id()) != 0) throw std::logic_error("user ID joined twice");
        auto& room = it == rooms_.end() ? rooms_[member->room()] : it->second;
        out.present.reserve(room.size());
        for (auto& m : room)
            out.present.push_back(m->id());
        std::sort(out.present.begin(), out.present.end());
        member->join_seq = ++join_seq_;
        member->room_slot = room.size();
        room.push_back(member);
        users_.emplace(member->id(), member);
        return out;
    }

    void leave(Member& member) override {
        std::unique_lock lock(mutex_);
        auto user = users_.find(member.id());
        if (user == users_.end() || user->second.get() != &member) return;
        users_.erase(user);
        auto it = rooms_.find(member.room());
        if (it == rooms_.end()) return;
        auto& room = it->second;
        std::size_t slot = member.room_slot;
        if (slot < room.size() && room[slot].get() == &member) {
            if (slot != room.size() - 1) {
                room[slot] = std::move(room.back());
                room[slot]->room_slot = slot;
            }
            room.pop_back();
        }
        if (room.empty()) rooms_.erase(it);
    }

    bool contains(UserId id) const override {
        std::shared_lock lock(mutex_);
        return users_.count(id) != 0;
    }

    Delivery deliver(const std::string& room, UserId to, const Payload& message) override {
        std::shared_ptr<Member> target;
        {
            std::shared_lock lock(mutex_);
            auto it = users_.find(to);
            if (it == users_.end() || it->second->room() != room) return Delivery::no_such_user;
            target = it->second;
        }
        return target->offer(message) ? Delivery::delivered : Delivery::refused;
    }

    std::size_t broadcast(const std::string& room, const Payload& message, UserId except,
                          std::uint64_t before_seq) override {
        std::vector<std::shared_ptr<Member>> targets;
        {
            std::shared_lock lock(mutex_);
            auto it = rooms_.find(room);
            if (it == rooms_.end()) return 0;
            targets.reserve(it->second.size());
            for (auto& m : it->second)
                if (m->id() != except && m->join_seq < before_seq) targets.push_back(m);
        }
        for (auto& m : targets)
            m->deliver(message);
        return targets.size();
    }

    std::size_t room_count() const override {
        std::shared_lock lock(mutex_);
        return rooms_.size();
    }

private:
    std::atomic<UserId> next_id_{1};  // 0 is the host's
    mutable std::shared_mutex mutex_;
    std::uint64_t join_seq_ = 0;
    std::unordered_map<UserId, std::shared_ptr<Member>> users_;
    std::unordered_map<std::string, std::vector<std::shared_ptr<Member>>> rooms_;
};

}  // namespace

std::unique_ptr<Directory> make_local_directory() {
    return std::make_unique<LocalDirectory>();
}

}  // namespace switchboard::detail

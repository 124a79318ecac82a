// Micro-benchmarks of the hub's hot paths, with an in-memory Connection that
// only counts. Every figure is per thread of one process: run on an idle
// machine (or compare callgrind instruction counts) for stable numbers.
//
//   routing:   Hub::receive of a peer-candidate (~170 B) and of a peer-connect
//              with a Chrome offer (~3.7 KB), from one user to another;
//   baseline:  the naive way to route the same bytes: nlohmann parse, move
//              `to` into `from`, dump;
//   login:     a user joining a room of N (login listing N users plus
//              user-joined to N) and leaving again (user-left to N);
//   fan-out:   the same cycle counted as presence messages delivered.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <switchboard/hub.hpp>

#include "sample_messages.hpp"

namespace {

using namespace switchboard;

/** Drops everything, counting messages and bytes. */
class CountingConnection final : public Connection {
public:
    void send(std::shared_ptr<const std::string> text) override {
        messages.fetch_add(1, std::memory_order_relaxed);
        bytes.fetch_add(text->size(), std::memory_order_relaxed);
    }
    void close(int, std::string_view) override {}
    std::atomic<std::uint64_t> messages{0};
    std::atomic<std::uint64_t> bytes{0};
};

Options bench_options(std::size_t room_size = 256) {
    Options o;
    // Keep the token bucket on the path (its clock read and lock are part of
    // the real cost), but high enough never to refuse.
    o.limits.rate_per_second = 1e12;
    o.limits.rate_burst = 1e12;
    o.limits.max_users_per_room = room_size + 1;
    o.limits.max_connections_per_address = 0;  // every user comes from 127.0.0.1
    return o;
}

struct User {
    std::shared_ptr<CountingConnection> connection = std::make_shared<CountingConnection>();
    std::shared_ptr<Session> session;
};

User join(Hub& hub, const std::string& path) {
    User u;
    Handshake h;
    h.path = path;
    h.remote_address = "127.0.0.1";
    u.session = hub.open(hub.admit(std::move(h)), u.connection);
    return u;
}

/** A hub with `pairs` rooms of two: routing thread i sends from user 2i to user 2i+1. */
struct RoutingFixture {
    Hub hub{bench_options()};
    std::vector<User> users;
    RoutingFixture(int pairs) {
        for (int i = 0; i < 2 * pairs; ++i)
            users.push_back(join(hub, "/room/r" + std::to_string(i / 2)));
    }
};

constexpr int max_routing_threads = 2;

void route_benchmark(benchmark::State& state, bool sdp) {
    // One hub shared by every thread count, built once (thread-safe static).
    static RoutingFixture fixture(max_routing_threads);
    auto& from = fixture.users[static_cast<std::size_t>(2 * state.thread_index())];
    auto& to = fixture.users[static_cast<std::size_t>(2 * state.thread_index() + 1)];
    std::string text = sdp ? bench::description_message(to.session->id()) : bench::candidate_message(to.session->id());
    auto before = to.connection->messages.load();
    for (auto _ : state)
        fixture.hub.receive(*from.session, text);
    if (to.connection->messages.load() - before != static_cast<std::uint64_t>(state.iterations()))
        state.SkipWithError("a message was not routed");
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

void BM_RouteCandidate(benchmark::State& state) {
    route_benchmark(state, false);
}
void BM_RouteOffer(benchmark::State& state) {
    route_benchmark(state, true);
}

/** The naive router: a full DOM for every message. */
void naive_benchmark(benchmark::State& state, bool sdp) {
    std::string text = sdp ? bench::description_message(2) : bench::candidate_message(2);
    for (auto _ : state) {
        auto j = nlohmann::json::parse(text);
        auto to = j.at("to").get<std::uint64_t>();
        benchmark::DoNotOptimize(to);
        j.erase("to");
        j["from"] = 1;
        auto out = std::make_shared<const std::string>(j.dump());
        benchmark::DoNotOptimize(out);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

void BM_NaiveParseDumpCandidate(benchmark::State& state) {
    naive_benchmark(state, false);
}
void BM_NaiveParseDumpOffer(benchmark::State& state) {
    naive_benchmark(state, true);
}

/** Join a room of N users (login + N user-joined) and leave it (N user-left). */
void join_leave_cycle(benchmark::State& state, bool count_presence) {
    auto n = static_cast<std::size_t>(state.range(0));
    Hub hub(bench_options(n));
    std::vector<User> room;
    for (std::size_t i = 0; i < n; ++i)
        room.push_back(join(hub, "/room/big"));
    auto newcomer = std::make_shared<CountingConnection>();
    std::uint64_t presence_before = 0;
    for (auto& u : room)
        presence_before += u.connection->messages.load();
    for (auto _ : state) {
        Handshake h;
        h.path = "/room/big";
        h.remote_address = "127.0.0.1";
        auto session = hub.open(hub.admit(std::move(h)), newcomer);
        hub.leave(*session);
    }
    std::uint64_t presence = 0 - presence_before;
    for (auto& u : room)
        presence += u.connection->messages.load();
    if (newcomer->messages.load() != static_cast<std::uint64_t>(state.iterations()))
        state.SkipWithError("a login was not sent");
    if (count_presence) {
        state.SetItemsProcessed(static_cast<std::int64_t>(presence));
        state.counters["per_join"] = static_cast<double>(presence) / static_cast<double>(state.iterations());
    } else {
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
        state.SetBytesProcessed(static_cast<std::int64_t>(newcomer->bytes.load()));
    }
}

void BM_LoginIntoRoomOf(benchmark::State& state) {
    join_leave_cycle(state, false);
}
void BM_PresenceFanOutRoomOf(benchmark::State& state) {
    join_leave_cycle(state, true);
}

}  // namespace

// One thread: items/s per core (CPU time). Two threads on one hub: aggregate
// items/s in wall time, showing what the shared directory lock costs.
BENCHMARK(BM_RouteCandidate);
BENCHMARK(BM_RouteCandidate)->Threads(max_routing_threads)->UseRealTime();
BENCHMARK(BM_RouteOffer);
BENCHMARK(BM_RouteOffer)->Threads(max_routing_threads)->UseRealTime();
BENCHMARK(BM_NaiveParseDumpCandidate);
BENCHMARK(BM_NaiveParseDumpOffer);
BENCHMARK(BM_LoginIntoRoomOf)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_PresenceFanOutRoomOf)->Arg(10)->Arg(100)->Arg(1000);

BENCHMARK_MAIN();

// Switchboard: several processes share users and rooms through Redis
// (target switchboard::redis; find_package(Switchboard COMPONENTS redis)).
//
// One process is the default. When one is not enough, start a Cluster in
// each process, all on the same Redis, and give each hub its directory:
//
//     switchboard::redis::ClusterOptions cluster_options;
//     cluster_options.url = "redis://10.0.0.5:6379";
//     switchboard::redis::Cluster cluster(cluster_options);
//     if (auto error = cluster.start()) { ...error->message... }
//     switchboard::Options options;
//     options.directory = cluster.directory();
//     switchboard::Hub hub(options);
//
// Then the users of one room may connect to any node, behind any load
// balancer, and see and signal each other as if they were on one:
//   - IDs are unique across the cluster and never reused (Redis hands them
//     out in blocks);
//   - `login` lists the room's users on every node; `user-joined` and
//     `user-left` reach every other user exactly once, in an order
//     consistent with its `login`;
//   - a message to a user on another node is validated and spliced on the
//     sender's node and delivered byte for byte, in order per sender;
//   - room size, room count and per-address limits hold cluster-wide (each
//     join is one atomic Lua script); give every node the same Limits;
//   - rate limits and transport limits stay per connection, on its node.
//
// Each node holds a lease in Redis, renewed every third of
// `node_lease`. A node whose lease runs out (killed, frozen, cut off) is
// reaped by the others: its users leave their rooms, the others get
// `user-left`. A node that finds its own lease gone, or that could not
// renew it in time, closes all its users with 1013 "cluster-fenced" (the
// clients reconnect) and joins the cluster again as a new node. While a node
// cannot reach Redis, joins on it are refused (`cluster-unavailable`, close
// 1013) and `serving()` is false (switchboard-server's /healthz answers
// 503). See docs/cluster.md for the design, the failure behaviour and the
// Redis settings a deployment needs.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <switchboard/errors.hpp>
#include <switchboard/options.hpp>

namespace switchboard::redis {

struct ClusterOptions {
    /** redis://[[user]:password@]host[:port][/db]; port 6379 and db 0 by default. */
    std::string url = "redis://127.0.0.1:6379";
    /** How long after its last renewal the others treat a node's users as gone. */
    std::chrono::milliseconds node_lease{5000};
    /** For logs and metrics; empty: "<hostname>:<pid>". */
    std::string node_name;
    /** Longest wait for one Redis answer (a join waits at most about twice this). */
    std::chrono::milliseconds timeout{1000};
    /** Prefix of every key and channel, so several clusters can share one Redis. */
    std::string key_prefix = "switchboard:";
    LogSink log_sink;
    LogLevel log_level = LogLevel::info;
};

/** A snapshot of one node's view of the cluster, for health checks and metrics. */
struct ClusterStats {
    bool redis_connected = false;       ///< both connections to Redis are up
    bool serving = false;               ///< registered, lease valid: joins are accepted
    std::uint64_t node_id = 0;          ///< this node's current ID (a new one after each fencing)
    std::uint64_t nodes_alive = 0;      ///< nodes holding a lease, as of the last renewal
    std::uint64_t reconnects = 0;       ///< times the connections to Redis were set up again
    std::uint64_t fenced = 0;           ///< times this node lost its lease and closed its users
    std::uint64_t users_reaped = 0;     ///< users of dead nodes this node removed
    std::uint64_t deliveries_sent = 0;  ///< messages forwarded to users on other nodes
    std::uint64_t deliveries_received = 0;
    std::uint64_t cross_node_drops = 0;  ///< forwarded messages lost: Redis down, recipient gone or busy
};

/**
 * One node's membership of a cluster: its Redis connections (on a thread
 * of its own), its lease, and the Directory a Hub uses. Thread-safe.
 *
 * Lifetime: start() before the hub admits users; destroy the Cluster after
 * the hub (it removes this node's users from Redis, so the others see them
 * leave at once rather than after the lease).
 */
class Cluster {
public:
    explicit Cluster(ClusterOptions options);
    ~Cluster();
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    /**
     * Connect and register this node, waiting up to twice `options.timeout` for
     * Redis. Errors: "redis-url" (the URL does not parse) or
     * "redis-unavailable" (no answer in time); the node keeps trying in the
     * background after the second, and serves once Redis answers.
     */
    std::optional<Error> start();

    /** For Options::directory. The same object on every call. */
    std::shared_ptr<switchboard::detail::Directory> directory() const;

    /** True while joins are accepted (see ClusterStats::serving). */
    bool serving() const;

    ClusterStats stats() const;

    const ClusterOptions& options() const noexcept;

private:
    class Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace switchboard::redis

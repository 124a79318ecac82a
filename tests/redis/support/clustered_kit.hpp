// The conformance kit with every clause's hub in a cluster: a real
// redis-server (one per test process), a node per clause with keys of its
// own. Used by the kit suites of both bundled adapters in tests/redis.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include <switchboard/redis.hpp>
#include <switchboard/testing/conformance.hpp>

#include "support/redis_server.hpp"

namespace switchboard::test {

inline RedisServer& kit_redis() {
    static RedisServer server;
    return server;
}

/** KitOptions whose hub_options put each clause's hub on a node of its own, in the same Redis. */
inline switchboard::testing::KitOptions clustered() {
    switchboard::testing::KitOptions kit;
    kit.hub_options = [](switchboard::Options& options) {
        static std::unique_ptr<switchboard::redis::Cluster> node;
        static int clause = 0;
        node.reset();  // the previous clause's hub is gone
        switchboard::redis::ClusterOptions o;
        o.url = kit_redis().url();
        o.key_prefix = "kit-" + std::to_string(++clause) + ":";
        node = std::make_unique<switchboard::redis::Cluster>(o);
        if (auto error = node->start()) throw std::runtime_error(error->code + ": " + error->message);
        options.directory = node->directory();
    };
    return kit;
}

}  // namespace switchboard::test

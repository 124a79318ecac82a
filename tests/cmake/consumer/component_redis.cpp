// switchboard::redis links, and a hub takes a cluster's directory.
#include <switchboard/redis.hpp>
#include <switchboard/switchboard.hpp>

int main() {
    switchboard::redis::ClusterOptions options;
    options.url = "redis://127.0.0.1:1";  // never started: nothing listens there
    switchboard::redis::Cluster cluster(options);
    switchboard::Options hub_options;
    hub_options.directory = cluster.directory();
    switchboard::Hub hub(hub_options);
    return hub.counters().connections_open == 0 && !cluster.serving() ? 0 : 1;
}

// switchboard-server: a ready-to-run WebRTC signalling server with the chat
// page, on one port. See --help.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>

#include <switchboard/beast.hpp>
#include <switchboard/redis.hpp>
#include <switchboard/switchboard.hpp>
#include <switchboard/tokens.hpp>

#ifdef SWITCHBOARD_SERVER_HOST_PEER
#include <ctime>
#include <switchboard/peer.hpp>
#endif

#include "admin.hpp"
#include "server_options.hpp"
#include "web.hpp"

namespace {

namespace fs = std::filesystem;

/** The cluster's gauges and counters for /metrics. */
std::string cluster_metrics(const std::string& node_name, const switchboard::redis::ClusterStats& s) {
    using switchboard::server::prometheus_metric;
    return "# HELP switchboard_cluster_node_info This node's name (--node-name).\n"
           "# TYPE switchboard_cluster_node_info gauge\n"
           "switchboard_cluster_node_info{name=\"" +
           switchboard::server::prometheus_label(node_name) + "\"} 1\n" +
           prometheus_metric("switchboard_cluster_redis_connected", "gauge", "1 while both Redis connections are up.",
                             s.redis_connected ? 1 : 0) +
           prometheus_metric("switchboard_cluster_serving", "gauge", "1 while this node accepts joins.",
                             s.serving ? 1 : 0) +
           prometheus_metric("switchboard_cluster_node_id", "gauge", "This node's current ID.", s.node_id) +
           prometheus_metric("switchboard_cluster_nodes_alive", "gauge", "Nodes holding a lease.", s.nodes_alive) +
           prometheus_metric("switchboard_cluster_reconnects_total", "counter", "Times Redis was reconnected.",
                             s.reconnects) +
           prometheus_metric("switchboard_cluster_fenced_total", "counter",
                             "Times this node lost its lease and closed its users.", s.fenced) +
           prometheus_metric("switchboard_cluster_users_reaped_total", "counter",
                             "Users of dead nodes this node removed.", s.users_reaped) +
           prometheus_metric("switchboard_cluster_deliveries_sent_total", "counter",
                             "Messages forwarded to users on other nodes.", s.deliveries_sent) +
           prometheus_metric("switchboard_cluster_deliveries_received_total", "counter",
                             "Messages from other nodes for users here.", s.deliveries_received) +
           prometheus_metric("switchboard_cluster_cross_node_drops_total", "counter",
                             "Forwarded messages lost (Redis down, recipient gone or busy).", s.cross_node_drops);
}

/** This executable's directory, or "" when it cannot be found. */
fs::path executable_dir() {
    std::error_code ec;
    auto exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : exe.parent_path();
}

/**
 * The bundled web files: the installed copy next to an installed binary
 * (found relative to it, so the install prefix may move), otherwise the
 * source tree this binary was built from.
 */
switchboard::server::WebOptions bundled_web() {
    auto installed = (executable_dir() / SWITCHBOARD_INSTALLED_WEB_ROOT_RELATIVE).lexically_normal();
    std::error_code ec;
    switchboard::server::WebOptions web;
    if (fs::is_regular_file(installed / "index.html", ec)) {
        web.root = installed;
        web.client_js = installed / "switchboard.js";
    } else {
        web.root = SWITCHBOARD_SOURCE_WEB_ROOT;
        web.client_js = SWITCHBOARD_SOURCE_CLIENT_JS;
    }
    return web;
}

#ifdef SWITCHBOARD_SERVER_HOST_PEER
/** The current time, as the host peer answers /time: "2026-01-01 12:00:00 UTC". */
std::string utc_now() {
    std::time_t now = std::time(nullptr);
    std::tm parts{};
    gmtime_r(&now, &parts);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &parts);
    return text;
}

/**
 * --host-peer: the host joins the default room as user 0, a WebRTC peer
 * named `name`, on the address the server listens on when that is one
 * (else on every interface). For the demo it greets each peer that
 * connects, answers "/time" and says goodbye to a peer that left.
 */
void start_host_peer(std::optional<switchboard::peer::HostPeer>& slot, switchboard::Hub& hub, const std::string& name,
                     const std::string& listen_host) {
    switchboard::peer::PeerOptions options;
    options.profile = {{"name", name}, {"bot", true}};
    boost::system::error_code bad;
    auto address = boost::asio::ip::make_address(listen_host, bad);
    if (!bad && !address.is_unspecified()) options.local_addresses = {address.to_string()};
    auto& host = slot.emplace(hub, options);
    host.on_connected([&host, name](switchboard::UserId peer) {
        auto their = host.profile_of(peer).value("name", std::string());
        host.send(peer, "Welcome" + (their.empty() ? std::string() : ", " + their) + "! I am " + name +
                            ", the host (user 0), a WebRTC peer like you. Say /time and I tell you the time.");
    });
    host.on_message([&host](switchboard::UserId from, const nlohmann::json& data) {
        if (data.is_string() && data.get_ref<const std::string&>() == "/time") host.send(from, "It is " + utc_now());
    });
    // Tell the others when a peer is gone (its user left, or its connection closed).
    host.on_left([&host](switchboard::UserId peer, const std::string& why) {
        if (why != "left" && why != "closed") return;
        auto their = host.profile_of(peer).value("name", std::string());
        host.send_all("Goodbye, " + (their.empty() ? "user " + std::to_string(peer) : their) + ".");
    });
    host.join();
}
#endif

}  // namespace

int main(int argc, char** argv) {
    switchboard::server::Config config;
    if (auto status = switchboard::server::parse_options(argc, argv, config)) return *status;

    if (config.issue_subject) {
        switchboard::tokens::Claims claims;
        claims.subject = *config.issue_subject;
        claims.room = config.token_room;
        auto now =
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
        claims.expires = now.count() + static_cast<std::int64_t>(config.token_ttl);
        claims.profile = config.token_profile;
        std::cout << switchboard::tokens::mint(claims, *config.token_secret) << std::endl;
        return 0;
    }
    config.hub.log_sink = switchboard::stderr_log_sink();

    // Declared before the hub, so destroyed after it: this node's users then
    // leave the cluster at once.
    std::optional<switchboard::redis::Cluster> cluster;
    if (config.cluster) {
        config.cluster->log_sink = config.hub.log_sink;
        config.cluster->log_level = config.hub.log_level;
        cluster.emplace(*config.cluster);
        if (auto error = cluster->start()) {
            if (error->code == "redis-url") {
                std::cerr << "switchboard-server: " << error->message << '\n';
                return 2;
            }
            config.hub.log_sink(switchboard::LogLevel::warn, error->message + " (serving once it answers)");
        }
        config.hub.directory = cluster->directory();
    }
    switchboard::Hub hub(config.hub);
    if (config.token_secret) hub.on_authorize(switchboard::tokens::authorizer(*config.token_secret));

    auto web = bundled_web();
    if (config.web_root) web.root = *config.web_root;
    if (cluster) {
        web.unhealthy = [&cluster]() -> std::string {
            auto s = cluster->stats();
            if (s.serving) return {};
            return s.redis_connected ? "not serving: joining the cluster" : "not serving: cannot reach Redis";
        };
        web.more_metrics = [&cluster] { return cluster_metrics(cluster->options().node_name, cluster->stats()); };
    }
    config.server.http_handler = switchboard::server::make_web_handler(hub, web);
    if (config.admin_token) {
        auto admin = switchboard::server::make_admin_handler(hub, *config.admin_token);
        config.server.http_handler =
            [admin, files = std::move(config.server.http_handler)](
                const switchboard::beast::HttpRequest& request) -> switchboard::beast::HttpAnswer {
            if (auto answer = admin(request)) return std::move(*answer);
            return files(request);
        };
    }
    if (config.hub.log_level <= switchboard::LogLevel::info)
        config.hub.log_sink(switchboard::LogLevel::info, "serving static files from " + web.root.string());

    switchboard::beast::Server server(hub, config.server);
    if (auto error = server.listen()) {
        std::cerr << "switchboard-server: " << error->message << '\n';
        return 1;
    }

#ifdef SWITCHBOARD_SERVER_HOST_PEER
    // Declared after the hub and the server: it leaves before they go.
    std::optional<switchboard::peer::HostPeer> host_peer;
    if (config.host_peer) {
        try {
            start_host_peer(host_peer, hub, *config.host_peer, config.server.host);
        } catch (const std::exception& e) {
            std::cerr << "switchboard-server: --host-peer: " << e.what() << '\n';
            return 1;
        }
        if (config.hub.log_level <= switchboard::LogLevel::info)
            config.hub.log_sink(switchboard::LogLevel::info,
                                "host peer \"" + *config.host_peer + "\" joined the default room as user 0");
    }
#endif

    boost::asio::signal_set signals(server.io_context(), SIGINT, SIGTERM);
    signals.async_wait([&server](const boost::system::error_code& ec, int) {
        if (!ec) server.stop();
    });

    std::cout << "listening on " << server.url() << std::endl;
    server.run();
    return 0;
}

// switchboard-server: a ready-to-run WebRTC signalling server with the chat
// page, on one port. See --help.
#include <unistd.h>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>

#include <switchboard/beast.hpp>
#include <switchboard/redis.hpp>
#include <switchboard/switchboard.hpp>
#include <switchboard/tokens.hpp>
#include <switchboard/turn.hpp>

#include "admin.hpp"
#include "web.hpp"

namespace {

namespace fs = std::filesystem;

constexpr const char* usage = R"(Usage: switchboard-server [options]

WebRTC signalling over WebSocket (ws://HOST:PORT/ and ws://HOST:PORT/room/NAME),
plus the bundled chat page and /healthz, /metrics over HTTP on the same port.

Options:
  --host ADDR             address to listen on (default 127.0.0.1)
  --port N                port (default 8080; 0 picks a free one)
  --threads N             I/O threads (default: number of CPUs, at most 8)
  --web-root DIR          static files to serve (default: the bundled chat page)
  --allowed-origin URL    allow WebSocket handshakes from this Origin only;
                          repeatable (default: any origin)
  --max-room-size N       users per room (default 256)
  --max-rooms N           rooms open at once; a join that would open one more is
                          refused with `too-many-rooms` (default 10000)
  --rate-limit N          messages a second each connection may send on average;
                          over it they get `rate-limited` (default 200; 0: no limit)
  --rate-burst N          largest burst a connection may send at once before
                          --rate-limit applies (default 2000)
  --max-message-bytes N   longest message; longer ones close the socket with 1009
                          (default 65536)
  --max-connections-per-address N
                          users one client address may have connected at once
                          (default 200; 0: no limit)
  --max-rooms-per-address N
                          rooms one client address may have opened and still
                          open (default 50; 0: no limit)
  --max-http-connections N
                          connections still in HTTP (requests, upgrades in
                          progress) at once (default 1024; 0: no limit)
  --max-handshakes-per-address N
                          of those, from one peer address (default 32; 0: no
                          limit; trusted proxies are exempt)
  --trusted-proxy ADDR    a reverse proxy's IP address: connections from it
                          take the client's address from Forwarded or
                          X-Forwarded-For; repeatable (default: none)
  --idle-timeout SECONDS  drop a client silent this long; it is pinged after half
                          (default 60)
  --resume-window SECONDS how long a user whose connection broke (no close frame)
                          may come back with its resume token and keep its ID;
                          the others hear nothing meanwhile (default 15; decimals
                          allowed; 0: it leaves at once)
  --redis URL             join a cluster: redis://[[user]:password@]HOST[:PORT][/DB];
                          users of one room may then connect to any node
                          (default: none, this process alone)
  --node-lease SECONDS    with --redis: how long after this node stops renewing
                          its lease the others treat its users as gone
                          (default 5; decimals allowed, at least 0.3)
  --node-name NAME        with --redis: this node's name in logs (default
                          HOSTNAME:PID)
  --token-secret-file FILE
                          require an access token: a JWT signed with HS256 whose
                          key is FILE's content (without a trailing newline),
                          passed as ?token=...; without one a handshake gets 401,
                          with a token for another room 403
  --issue-token SUBJECT   with --token-secret-file: print a token for SUBJECT and
                          exit (see --token-room, --token-ttl)
  --token-room ROOM       the room an issued token grants: a name, "" for the
                          default room, "*" for any (default "*")
  --token-ttl SECONDS     how long an issued token is valid (default 3600)
  --token-profile JSON    the public profile an issued token carries, a JSON
                          object such as '{"name":"Ann"}' (default none)
  --allow-client-names    let a client choose its display name with ?name=...;
                          a token's profile name still wins (default: ignored)
  --stun URL              a STUN server for browsers, given to them in `login`,
                          e.g. stun:stun.example.org:3478; repeatable
  --turn URL              a TURN server for browsers, e.g.
                          turn:turn.example.org:3478?transport=udp; repeatable;
                          needs --turn-secret-file, or --turn-user and
                          --turn-password-file
  --turn-secret-file FILE coturn's static-auth-secret (use-auth-secret), FILE's
                          content without a trailing newline: each login gets
                          its own credentials (TURN REST scheme)
  --turn-ttl SECONDS      how long those credentials are valid (default 3600)
  --turn-user NAME        fixed TURN credentials instead: the user name...
  --turn-password-file FILE
                          ...and the password, FILE's content
  --admin-token-file FILE turn on the admin HTTP API under /admin/ (rooms, users,
                          send, broadcast, disconnect; JSON), for requests with
                          Authorization: Bearer <FILE's content> (default: off)
  --tls-cert FILE         PEM certificate chain; with --tls-key, serve https/wss only
  --tls-key FILE          PEM private key
  --log-level LEVEL       trace, debug, info, warn, error or off (default info)
  --unknown-types POLICY  reject (default): unregistered message types get
                          `unknown-type`; route: route them by `to` like the
                          original seed server
  --help                  show this help

On start it prints one line, "listening on ws://HOST:PORT/" (wss:// with TLS),
to stdout. Logs go to stderr. SIGINT or SIGTERM closes every connection (1001)
and exits with status 0.
)";

struct Config {
    switchboard::Options hub;
    switchboard::beast::ServerOptions server;
    std::optional<fs::path> web_root;
    std::optional<switchboard::redis::ClusterOptions> cluster;
    std::optional<std::chrono::milliseconds> node_lease;
    std::string node_name;
    std::optional<std::string> token_secret;
    std::optional<std::string> issue_subject;
    std::string token_room = "*";
    unsigned long long token_ttl = 3600;
    nlohmann::json token_profile;
    std::vector<std::string> stun, turn;
    std::optional<std::string> turn_secret, turn_user, turn_password;
    unsigned long long turn_ttl = 3600;
    std::optional<std::string> admin_token;
};

/** A secret file's content without its trailing newline; nullopt when unreadable or empty. */
std::optional<std::string> read_secret(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!secret.empty() && secret.back() == '\n') secret.pop_back();
    if (!secret.empty() && secret.back() == '\r') secret.pop_back();
    if (secret.empty()) return std::nullopt;
    return secret;
}

bool parse_number(std::string_view text, unsigned long long max, unsigned long long& out);

/** Seconds with up to three decimals ("5", "0.5", "1.25") within [min_ms, max_ms] milliseconds. */
bool parse_seconds(std::string_view text, long min_ms, long max_ms, std::chrono::milliseconds& out) {
    auto dot = text.find('.');
    unsigned long long whole = 0, fraction = 0;
    auto integer = text.substr(0, dot);
    if (!parse_number(integer, 1'000'000, whole)) return false;
    long ms = static_cast<long>(whole) * 1000;
    if (dot != std::string_view::npos) {
        auto digits = text.substr(dot + 1);
        if (digits.empty() || digits.size() > 3 || !parse_number(digits, 999, fraction)) return false;
        for (auto n = digits.size(); n < 3; ++n)
            fraction *= 10;
        ms += static_cast<long>(fraction);
    }
    if (ms < min_ms || ms > max_ms) return false;
    out = std::chrono::milliseconds(ms);
    return true;
}

bool parse_number(std::string_view text, unsigned long long max, unsigned long long& out) {
    if (text.empty() || text.size() > 20) return false;
    unsigned long long value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
        if (value > max) return false;
    }
    out = value;
    return true;
}

std::optional<int> fail_early(const std::string& why) {
    std::cerr << "switchboard-server: " << why << "\n(see --help)\n";
    return 2;
}

/** Parses argv into `config`; returns an exit status when the program should stop (help, error). */
std::optional<int> parse(int argc, char** argv, Config& config) {
    unsigned hardware = std::thread::hardware_concurrency();
    config.server.threads = hardware == 0 ? 1 : (hardware > 8 ? 8 : hardware);
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            return 0;
        }
        std::string name(arg), value;
        bool has_value = false;
        if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string_view::npos) {
            name = std::string(arg.substr(0, eq));
            value = std::string(arg.substr(eq + 1));
            has_value = true;
        }
        auto need_value = [&]() -> bool {
            if (has_value) return true;
            if (i + 1 >= argc) return false;
            value = argv[++i];
            return true;
        };
        auto fail = [&](const std::string& why) {
            std::cerr << "switchboard-server: " << why << "\n(see --help)\n";
            return std::optional<int>(2);
        };
        unsigned long long number = 0;
        if (name == "--host") {
            if (!need_value() || value.empty()) return fail("--host needs an address");
            config.server.host = value;
        } else if (name == "--port") {
            if (!need_value() || !parse_number(value, 65535, number))
                return fail("--port needs a number from 0 to 65535");
            config.server.port = static_cast<std::uint16_t>(number);
        } else if (name == "--threads") {
            if (!need_value() || !parse_number(value, 256, number) || number == 0)
                return fail("--threads needs a number from 1 to 256");
            config.server.threads = static_cast<unsigned>(number);
        } else if (name == "--web-root") {
            if (!need_value()) return fail("--web-root needs a directory");
            std::error_code ec;
            if (!fs::is_directory(value, ec)) return fail("--web-root " + value + " is not a directory");
            config.web_root = fs::path(value);
        } else if (name == "--allowed-origin") {
            if (!need_value() || value.empty())
                return fail("--allowed-origin needs an origin such as http://localhost:8080");
            config.hub.allowed_origins.push_back(value);
        } else if (name == "--max-room-size") {
            if (!need_value() || !parse_number(value, 1'000'000, number) || number == 0)
                return fail("--max-room-size needs a number from 1 to 1000000");
            config.hub.limits.max_users_per_room = static_cast<std::size_t>(number);
        } else if (name == "--max-rooms") {
            if (!need_value() || !parse_number(value, 100'000'000, number) || number == 0)
                return fail("--max-rooms needs a number from 1 to 100000000");
            config.hub.limits.max_rooms = static_cast<std::size_t>(number);
        } else if (name == "--rate-limit") {
            if (!need_value() || !parse_number(value, 100'000'000, number))
                return fail("--rate-limit needs a number of messages a second from 0 (no limit) to 100000000");
            config.hub.limits.rate_per_second = static_cast<double>(number);
        } else if (name == "--rate-burst") {
            if (!need_value() || !parse_number(value, 100'000'000, number) || number == 0)
                return fail("--rate-burst needs a number from 1 to 100000000");
            config.hub.limits.rate_burst = static_cast<double>(number);
        } else if (name == "--max-message-bytes") {
            if (!need_value() || !parse_number(value, 64ull * 1024 * 1024, number) || number < 256)
                return fail("--max-message-bytes needs a number from 256 to 67108864");
            config.hub.limits.max_message_bytes = static_cast<std::size_t>(number);
        } else if (name == "--max-connections-per-address") {
            if (!need_value() || !parse_number(value, 100'000'000, number))
                return fail("--max-connections-per-address needs a number from 0 (no limit) to 100000000");
            config.hub.limits.max_connections_per_address = static_cast<std::size_t>(number);
        } else if (name == "--max-rooms-per-address") {
            if (!need_value() || !parse_number(value, 100'000'000, number))
                return fail("--max-rooms-per-address needs a number from 0 (no limit) to 100000000");
            config.hub.limits.max_rooms_per_address = static_cast<std::size_t>(number);
        } else if (name == "--max-http-connections") {
            if (!need_value() || !parse_number(value, 100'000'000, number))
                return fail("--max-http-connections needs a number from 0 (no limit) to 100000000");
            config.server.transport.max_http_connections = static_cast<std::size_t>(number);
        } else if (name == "--max-handshakes-per-address") {
            if (!need_value() || !parse_number(value, 100'000'000, number))
                return fail("--max-handshakes-per-address needs a number from 0 (no limit) to 100000000");
            config.server.transport.max_handshakes_per_address = static_cast<std::size_t>(number);
        } else if (name == "--trusted-proxy") {
            boost::system::error_code bad;
            if (!need_value() || (boost::asio::ip::make_address(value, bad), bad))
                return fail("--trusted-proxy needs an IP address such as 127.0.0.1");
            config.hub.trusted_proxies.push_back(boost::asio::ip::make_address(value).to_string());
        } else if (name == "--idle-timeout") {
            if (!need_value() || !parse_number(value, 86'400, number) || number == 0)
                return fail("--idle-timeout needs a number of seconds from 1 to 86400");
            config.server.transport.idle_timeout = std::chrono::seconds(number);
        } else if (name == "--resume-window") {
            std::chrono::milliseconds window{};
            if (!need_value() || !parse_seconds(value, 0, 3'600'000, window))
                return fail("--resume-window needs a number of seconds from 0 (off) to 3600");
            config.hub.resume_window = window;
        } else if (name == "--redis") {
            if (!need_value() || value.rfind("redis://", 0) != 0)
                return fail("--redis needs a URL such as redis://127.0.0.1:6379");
            config.cluster.emplace();
            config.cluster->url = value;
        } else if (name == "--node-lease") {
            std::chrono::milliseconds lease{};
            if (!need_value() || !parse_seconds(value, 300, 3'600'000, lease))
                return fail("--node-lease needs a number of seconds from 0.3 to 3600");
            config.node_lease = lease;
        } else if (name == "--node-name") {
            if (!need_value() || value.empty()) return fail("--node-name needs a name");
            config.node_name = value;
        } else if (name == "--token-secret-file") {
            if (!need_value()) return fail("--token-secret-file needs a file");
            config.token_secret = read_secret(value);
            if (!config.token_secret) return fail("--token-secret-file " + value + " cannot be read or is empty");
        } else if (name == "--issue-token") {
            if (!need_value() || value.empty()) return fail("--issue-token needs a subject (the user's identity)");
            config.issue_subject = value;
        } else if (name == "--token-room") {
            if (!need_value()) return fail("--token-room needs a room name, \"\" or \"*\"");
            if (value != "*" && !value.empty() && switchboard::room_from_path("/room/" + value) != value)
                return fail("--token-room needs a room name (1-64 of A-Z a-z 0-9 . _ ~ -), \"\" or \"*\"");
            config.token_room = value;
        } else if (name == "--token-ttl") {
            if (!need_value() || !parse_number(value, 10ull * 365 * 86400, config.token_ttl) || config.token_ttl == 0)
                return fail("--token-ttl needs a number of seconds from 1 to 315360000");
        } else if (name == "--token-profile") {
            if (!need_value()) return fail("--token-profile needs a JSON object");
            config.token_profile = nlohmann::json::parse(value, nullptr, false);
            if (!config.token_profile.is_object())
                return fail("--token-profile needs a JSON object such as '{\"name\":\"Ann\"}'");
        } else if (name == "--allow-client-names") {
            if (has_value) return fail("--allow-client-names takes no value");
            config.hub.allow_client_names = true;
        } else if (name == "--stun" || name == "--turn") {
            const bool stun = name == "--stun";
            const char* scheme = stun ? "stun:" : "turn:";
            if (!need_value() || (value.rfind(scheme, 0) != 0 && (stun || value.rfind("turns:", 0) != 0)))
                return fail(name + (stun ? " needs a URL such as stun:stun.example.org:3478"
                                         : " needs a URL such as turn:turn.example.org:3478?transport=udp"));
            (stun ? config.stun : config.turn).push_back(value);
        } else if (name == "--turn-secret-file" || name == "--turn-password-file") {
            if (!need_value()) return fail(name + " needs a file");
            auto secret = read_secret(value);
            if (!secret) return fail(name + " " + value + " cannot be read or is empty");
            (name == "--turn-secret-file" ? config.turn_secret : config.turn_password) = std::move(secret);
        } else if (name == "--turn-user") {
            if (!need_value() || value.empty()) return fail("--turn-user needs a user name");
            config.turn_user = value;
        } else if (name == "--turn-ttl") {
            if (!need_value() || !parse_number(value, 7ull * 86400, config.turn_ttl) || config.turn_ttl < 60)
                return fail("--turn-ttl needs a number of seconds from 60 to 604800");
        } else if (name == "--admin-token-file") {
            if (!need_value()) return fail("--admin-token-file needs a file");
            config.admin_token = read_secret(value);
            if (!config.admin_token) return fail("--admin-token-file " + value + " cannot be read or is empty");
        } else if (name == "--tls-cert") {
            if (!need_value()) return fail("--tls-cert needs a file");
            config.server.tls_cert_file = value;
        } else if (name == "--tls-key") {
            if (!need_value()) return fail("--tls-key needs a file");
            config.server.tls_key_file = value;
        } else if (name == "--log-level") {
            if (!need_value() || !switchboard::parse_log_level(value, config.hub.log_level))
                return fail("--log-level needs one of trace, debug, info, warn, error, off");
        } else if (name == "--unknown-types") {
            if (!need_value() || (value != "reject" && value != "route"))
                return fail("--unknown-types needs reject or route");
            config.hub.unknown_types =
                value == "route" ? switchboard::UnknownTypePolicy::route : switchboard::UnknownTypePolicy::reject;
        } else {
            return fail("unknown option " + std::string(arg));
        }
    }
    if (!config.cluster && (config.node_lease || !config.node_name.empty()))
        return fail_early("--node-lease and --node-name need --redis");
    if (config.issue_subject && !config.token_secret) return fail_early("--issue-token needs --token-secret-file");
    if (!config.token_profile.is_null() && !config.issue_subject)
        return fail_early("--token-profile needs --issue-token");
    const bool fixed_turn = config.turn_user || config.turn_password;
    if (fixed_turn && !(config.turn_user && config.turn_password))
        return fail_early("--turn-user and --turn-password-file go together");
    if (fixed_turn && config.turn_secret)
        return fail_early("--turn-secret-file and --turn-user/--turn-password-file exclude each other");
    if (!config.turn.empty() && !fixed_turn && !config.turn_secret)
        return fail_early("--turn needs --turn-secret-file, or --turn-user and --turn-password-file");
    if (config.turn.empty() && (fixed_turn || config.turn_secret))
        return fail_early("TURN credentials need a --turn URL");
    if (config.turn_secret) {
        config.hub.ice_servers = switchboard::turn::ice_servers(config.stun, config.turn, *config.turn_secret,
                                                                std::chrono::seconds(config.turn_ttl));
    } else if (!config.stun.empty() || !config.turn.empty()) {
        std::vector<switchboard::IceServer> servers;
        if (!config.stun.empty()) servers.push_back({config.stun, {}, {}});
        if (!config.turn.empty()) servers.push_back({config.turn, *config.turn_user, *config.turn_password});
        config.hub.ice_servers = [servers](std::uint64_t, const std::string&) { return servers; };
    }
    if (config.cluster) {
        if (config.node_lease) config.cluster->node_lease = *config.node_lease;
        config.cluster->node_name = config.node_name;
    }
    return std::nullopt;
}

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

}  // namespace

int main(int argc, char** argv) {
    Config config;
    if (auto status = parse(argc, argv, config)) return *status;

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

    boost::asio::signal_set signals(server.io_context(), SIGINT, SIGTERM);
    signals.async_wait([&server](const boost::system::error_code& ec, int) {
        if (!ec) server.stop();
    });

    std::cout << "listening on " << server.url() << std::endl;
    server.run();
    return 0;
}

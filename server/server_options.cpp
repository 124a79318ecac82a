// switchboard-server's options: each one is defined once, in define_options,
// with its check, its --help text and where its value goes. CLI11 reads it
// from the command line, the environment and the --config file alike.
#include "server_options.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <set>
#include <string_view>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>

#include <switchboard/turn.hpp>

namespace switchboard::server {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr std::size_t help_width = 80;
constexpr std::size_t help_name_column = 34;
constexpr const char* config_environment = "SWITCHBOARD_CONFIG";

/** The options that only mean something together; parse_options combines them into Config. */
struct Parts {
    std::optional<milliseconds> node_lease;
    std::string node_name;
    std::vector<std::string> stun, turn;
    std::optional<std::string> turn_secret, turn_user, turn_password;
    unsigned long long turn_ttl = 3600;
};

/**
 * How an option's text becomes its value. `read` gives nullopt for a text it
 * refuses; the error then names the option and says it expected `expected`.
 */
template <class T>
struct Reader {
    std::string expected;
    std::function<std::optional<T>(const std::string&)> read;
};

/** A decimal number without sign (leading zeros allowed) of at most `max`. */
std::optional<unsigned long long> decimal(std::string_view text, unsigned long long max) {
    if (text.empty() || text.size() > 20) return std::nullopt;
    unsigned long long value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
        if (value > max) return std::nullopt;
    }
    return value;
}

/** "" or " (what 0 means)" for an expectation. */
std::string meaning_of_zero(std::string_view zero) {
    return zero.empty() ? std::string() : fmt::format(" ({})", zero);
}

/** Whole numbers from `min` to `max`; `zero` says what 0 means when 0 is allowed. */
Reader<unsigned long long> number(unsigned long long min, unsigned long long max, std::string_view zero = {}) {
    return {fmt::format("a number from {}{} to {}", min, meaning_of_zero(zero), max),
            [min, max](const std::string& text) -> std::optional<unsigned long long> {
                auto value = decimal(text, max);
                if (!value || *value < min) return std::nullopt;
                return value;
            }};
}

/** "15", "0.3": seconds as --help and errors show them. */
std::string seconds_text(milliseconds duration) {
    return fmt::format("{}", static_cast<double>(duration.count()) / 1000.0);
}

/** Seconds with up to three decimals ("5", "0.5", "1.25"), from `min` to `max`. */
Reader<milliseconds> seconds(milliseconds min, milliseconds max, std::string_view zero = {}) {
    return {
        fmt::format("a number of seconds from {}{} to {}", seconds_text(min), meaning_of_zero(zero), seconds_text(max)),
        [min, max](const std::string& text) -> std::optional<milliseconds> {
            std::string_view view = text;
            auto dot = view.find('.');
            auto whole = decimal(view.substr(0, dot), 1'000'000);
            if (!whole) return std::nullopt;
            auto ms = static_cast<long long>(*whole) * 1000;
            if (dot != std::string_view::npos) {
                auto digits = view.substr(dot + 1);
                auto fraction = digits.size() > 3 ? std::nullopt : decimal(digits, 999);
                if (!fraction) return std::nullopt;
                for (auto n = digits.size(); n < 3; ++n)
                    *fraction *= 10;
                ms += static_cast<long long>(*fraction);
            }
            if (ms < min.count() || ms > max.count()) return std::nullopt;
            return milliseconds(ms);
        }};
}

/** Any text `good` accepts, as it is. */
Reader<std::string> text(std::string expected, std::function<bool(const std::string&)> good) {
    return {std::move(expected), [good = std::move(good)](const std::string& value) -> std::optional<std::string> {
                if (!good(value)) return std::nullopt;
                return value;
            }};
}

bool not_empty(const std::string& value) {
    return !value.empty();
}
bool anything(const std::string&) {
    return true;
}

/** A file's content without its trailing newline: a secret, so not an empty one. */
Reader<std::string> secret_file() {
    return {"a readable, non-empty file", [](const std::string& file) -> std::optional<std::string> {
                std::ifstream in(file, std::ios::binary);
                if (!in) return std::nullopt;
                std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
                if (!secret.empty() && secret.back() == '\n') secret.pop_back();
                if (!secret.empty() && secret.back() == '\r') secret.pop_back();
                if (secret.empty()) return std::nullopt;
                return secret;
            }};
}

/** One of a few names, each standing for a value. */
template <class T>
Reader<T> one_of(std::vector<std::pair<std::string, T>> names) {
    std::string expected = names.size() > 2 ? "one of " : "";
    for (std::size_t i = 0; i < names.size(); ++i)
        expected += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i].first;
    return {std::move(expected), [names = std::move(names)](const std::string& value) -> std::optional<T> {
                for (const auto& [name, meaning] : names)
                    if (name == value) return meaning;
                return std::nullopt;
            }};
}

template <class T>
std::string refusal(const Reader<T>& reader, const std::string& text) {
    return "expected " + reader.expected + ", got '" + text + "'";
}

/** CLI11's check for `reader`: every text given is checked, also the ones a later one overrides. */
template <class T>
CLI::Validator check(const Reader<T>& reader) {
    return CLI::Validator(
        [reader](std::string& text) { return reader.read(text) ? std::string() : refusal(reader, text); }, "");
}

/**
 * Adds option `name`, its value shown as `type` in --help. Given more than
 * once, the last one counts (all must be good); its value goes through
 * `reader` to `store`.
 */
template <class T, class Store>
CLI::Option* add(CLI::App& app, const std::string& name, const std::string& type, Reader<T> reader, Store store,
                 const std::string& help) {
    auto apply = [name, reader, store](const std::string& text) {
        auto value = reader.read(text);
        if (!value) throw CLI::ValidationError(name, refusal(reader, text));  // a file changed since check
        store(std::move(*value));
    };
    return app.add_option_function<std::string>(name, apply, help)
        ->type_name(type)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
        ->check(check(reader));
}

/**
 * Adds a repeatable option: one value each time it is given (a list in the
 * config file, `[a,b]` in the environment), each through `reader` to `store`.
 */
template <class T, class Store>
CLI::Option* add_repeatable(CLI::App& app, const std::string& name, const std::string& type, Reader<T> reader,
                            Store store, const std::string& help) {
    auto apply = [name, reader, store](const std::vector<std::string>& texts) {
        for (const auto& text : texts) {
            auto value = reader.read(text);
            if (!value) throw CLI::ValidationError(name, refusal(reader, text));
            store(std::move(*value));
        }
    };
    return app.add_option_function<std::vector<std::string>>(name, apply, help)
        ->type_name(type)
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->check(check(reader));
}

/** `text` broken into lines of at most `width` characters at spaces; its own line breaks stay. */
std::string wrap(const std::string& text, std::size_t width) {
    std::string out;
    std::size_t line = 0;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find_first_of(" \n", start);
        if (end == std::string::npos) end = text.size();
        auto word = std::string_view(text).substr(start, end - start);
        if (line > 0 && line + 1 + word.size() > width) {
            out += '\n';
            line = 0;
        } else if (line > 0) {
            out += ' ';
            ++line;
        }
        out += word;
        line += word.size();
        if (end < text.size() && text[end] == '\n') {
            out += '\n';
            line = 0;
        }
        start = end + 1;
    }
    return out;
}

/**
 * CLI11's layout, with the usage line first, one blank line between groups,
 * descriptions wrapped to 80 columns and followed by what the option needs
 * or excludes. Each option's environment variable is left out: the footer
 * gives the rule once.
 */
class HelpFormatter : public CLI::Formatter {
public:
    HelpFormatter() { column_width(help_name_column); }

    std::string make_description(const CLI::App*) const override { return {}; }

    std::string make_usage(const CLI::App* app, std::string name) const override {
        return CLI::Formatter::make_usage(app, std::move(name)) + "\n" + wrap(app->get_description(), help_width) +
               "\n\n";
    }

    std::string make_group(std::string group, bool is_positional,
                           std::vector<const CLI::Option*> options) const override {
        std::string out = group + ":\n";
        for (const auto* option : options)
            out += make_option(option, is_positional);
        return out;
    }

    std::string make_option_opts(const CLI::Option* option) const override {
        auto opts = CLI::Formatter::make_option_opts(option);
        return opts.substr(0, opts.find(" (" + get_label("Env") + ":"));  // Needs and Excludes follow it
    }

    std::string make_option_desc(const CLI::Option* option) const override {
        auto names = [](const std::set<CLI::Option*>& options) {
            std::vector<std::string> list;
            for (const auto* other : options)
                list.push_back(other->get_name());
            std::sort(list.begin(), list.end());
            std::string joined;
            for (const auto& name : list)
                joined += (joined.empty() ? "" : " and ") + name;
            return joined;
        };
        auto description = option->get_description();
        if (!option->get_needs().empty()) description += "; needs " + names(option->get_needs());
        if (!option->get_excludes().empty()) description += "; excludes " + names(option->get_excludes());
        return wrap(description, help_width - help_name_column);
    }

    std::string make_footer(const CLI::App* app) const override { return wrap(app->get_footer(), help_width) + "\n"; }
};

bool set_in_environment(const std::string& name) {
    const char* value = name.empty() ? nullptr : std::getenv(name.c_str());
    return value != nullptr && *value != '\0';
}

/**
 * CLI11's TOML/INI reader with two changes. Keys whose environment variable
 * is set are left out: CLI11 reads the file before the environment and then
 * only fills options still unset, which would let the file win. And a key
 * that names no option is refused by name.
 */
class ConfigFile : public CLI::ConfigBase {
public:
    explicit ConfigFile(const CLI::App& app) : app_(app) {}

    std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
        auto items = CLI::ConfigBase::from_config(input);
        std::vector<CLI::ConfigItem> kept;
        for (auto& item : items) {
            if (!item.parents.empty())
                throw CLI::ConfigError("--config: options go at the top, not in a section ([" + item.parents.front() +
                                       "])");
            const CLI::Option* option = app_.get_option_no_throw("--" + item.name);
            if (option == nullptr) throw CLI::ConfigError("--config: '" + item.name + "' is not an option");
            if (!set_in_environment(option->get_envname())) kept.push_back(std::move(item));
        }
        return kept;
    }

private:
    const CLI::App& app_;
};

/** SWITCHBOARD_MAX_ROOM_SIZE for --max-room-size. */
std::string environment_name(const CLI::Option& option) {
    std::string name = "SWITCHBOARD_";
    for (char c : option.get_name().substr(2))
        name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return name;
}

/** Every option of switchboard-server, writing into `config` and `parts` as CLI11 reads them. */
void define_options(CLI::App& app, Config& config, Parts& parts) {
    auto& hub = config.hub;
    auto& limits = config.hub.limits;
    auto& server = config.server;
    auto& transport = config.server.transport;

    app.description(
        "WebRTC signalling over WebSocket (ws://HOST:PORT/ and ws://HOST:PORT/room/NAME), plus the bundled chat page "
        "and /healthz, /metrics over HTTP on the same port.");
    app.footer(
        "Every option can also be set in the environment as SWITCHBOARD_<NAME> (upper case, dashes as underscores: "
        "SWITCHBOARD_PORT=8080, SWITCHBOARD_TOKEN_SECRET_FILE=/run/secret, a list as SWITCHBOARD_STUN=[URL,URL]) "
        "or in the --config file. The command line wins over the environment, the environment over the file.\n\n"
        "On start it prints one line, \"listening on ws://HOST:PORT/\" (wss:// with TLS), to stdout. Logs go to "
        "stderr. SIGINT or SIGTERM closes every connection (1001) and exits with status 0. Bad options exit with "
        "status 2.");
    app.formatter(std::make_shared<HelpFormatter>());
    app.config_formatter(std::make_shared<ConfigFile>(app));

    const std::string general = "General";
    app.set_help_flag("-h,--help", "show this help and exit")->group(general);
    // CLI11 reads the file before the environment, so SWITCHBOARD_CONFIG is
    // the default file name (parse_options refuses it if it cannot be read).
    const char* config_file = std::getenv(config_environment);
    app.set_config("--config", config_file == nullptr ? "" : config_file,
                   "read options from FILE, in TOML: `name = value` lines, named like the long options without "
                   "the dashes, with a list for a repeatable option: port = 8080, stun = [\"stun:a:3478\", "
                   "\"stun:b:3478\"]")
        ->type_name("FILE")
        ->group(general);

    const std::string listening = "Listening";
    add(
        app, "--host", "ADDR", text("an address", not_empty), [&](std::string v) { server.host = std::move(v); },
        "address to listen on")
        ->default_str(server.host)
        ->group(listening);
    add(
        app, "--port", "N", number(0, 65535), [&](auto v) { server.port = static_cast<std::uint16_t>(v); },
        "port; 0 picks a free one")
        ->default_str(std::to_string(server.port))
        ->group(listening);
    add(
        app, "--threads", "N", number(1, 256), [&](auto v) { server.threads = static_cast<unsigned>(v); },
        "I/O threads (default: the number of CPUs, at most 8)")
        ->group(listening);
    add(
        app, "--web-root", "DIR",
        text("a directory",
             [](const std::string& dir) {
                 std::error_code ec;
                 return fs::is_directory(dir, ec);
             }),
        [&](std::string v) { config.web_root = fs::path(v); }, "static files to serve (default: the bundled chat page)")
        ->group(listening);
    add(
        app, "--tls-cert", "FILE", text("a file", anything),
        [&](std::string v) { server.tls_cert_file = std::move(v); },
        "PEM certificate chain; with --tls-key, serve https and wss only")
        ->group(listening);
    add(
        app, "--tls-key", "FILE", text("a file", anything), [&](std::string v) { server.tls_key_file = std::move(v); },
        "PEM private key of --tls-cert")
        ->group(listening);

    const std::string access = "Access";
    add_repeatable(
        app, "--allowed-origin", "URL", text("an origin such as http://localhost:8080", not_empty),
        [&](std::string v) { hub.allowed_origins.push_back(std::move(v)); },
        "allow WebSocket handshakes from this Origin only; repeatable (default: any origin)")
        ->group(access);
    add_repeatable(
        app, "--trusted-proxy", "ADDR",
        Reader<std::string>{"an IP address such as 127.0.0.1",
                            [](const std::string& v) -> std::optional<std::string> {
                                boost::system::error_code bad;
                                auto address = boost::asio::ip::make_address(v, bad);
                                if (bad) return std::nullopt;
                                return address.to_string();
                            }},
        [&](std::string v) { hub.trusted_proxies.push_back(std::move(v)); },
        "a reverse proxy's IP address: connections from it take the client's address from Forwarded or "
        "X-Forwarded-For; repeatable (default: none)")
        ->group(access);
    add(
        app, "--token-secret-file", "FILE", secret_file(), [&](std::string v) { config.token_secret = std::move(v); },
        "require an access token: a JWT signed with HS256 whose key is FILE's content (without a trailing newline), "
        "passed as ?token=...; without one a handshake gets 401, with a token for another room 403")
        ->group(access);
    app.add_flag("--allow-client-names", hub.allow_client_names,
                 "let a client choose its display name with ?name=...; a token's profile name still wins (default: "
                 "ignored)")
        ->group(access);
    add(
        app, "--admin-token-file", "FILE", secret_file(), [&](std::string v) { config.admin_token = std::move(v); },
        "turn on the admin HTTP API under /admin/ (rooms, users, send, broadcast, disconnect; JSON), for requests "
        "with Authorization: Bearer <FILE's content> (default: off)")
        ->group(access);

    const std::string host = "Host peer";
#ifdef SWITCHBOARD_SERVER_HOST_PEER
    constexpr bool host_peer_built = true;
#else
    constexpr bool host_peer_built = false;  // the flag stays, so that --help is the same in every build
#endif
    add(
        app, "--host-peer", "NAME",
        Reader<std::string>{host_peer_built ? "a display name of 1 to 64 characters without control characters"
                                            : "nothing: this server was built without the host peer (SWITCHBOARD_PEER)",
                            [](const std::string& v) -> std::optional<std::string> {
                                std::size_t characters = 0;
                                for (unsigned char c : v) {
                                    if (c < 0x20 || c == 0x7f) return std::nullopt;
                                    if ((c & 0xc0) != 0x80) ++characters;  // UTF-8: count lead bytes
                                }
                                if (!host_peer_built || characters == 0 || characters > 64) return std::nullopt;
                                return v;
                            }},
        [&](std::string v) { config.host_peer = std::move(v); },
        "join the default room as user 0, a WebRTC peer (data channels) named NAME that greets each newcomer and "
        "answers /time; needs a server built with SWITCHBOARD_PEER (default: off)")
        ->group(host);

    const std::string limit = "Limits";
    add(
        app, "--max-room-size", "N", number(1, 1'000'000),
        [&](auto v) { limits.max_users_per_room = static_cast<std::size_t>(v); }, "users per room")
        ->default_str(std::to_string(limits.max_users_per_room))
        ->group(limit);
    add(
        app, "--max-rooms", "N", number(1, 100'000'000),
        [&](auto v) { limits.max_rooms = static_cast<std::size_t>(v); },
        "rooms open at once; a join that would open one more is refused with `too-many-rooms`")
        ->default_str(std::to_string(limits.max_rooms))
        ->group(limit);
    add(
        app, "--rate-limit", "N", number(0, 100'000'000, "no limit"),
        [&](auto v) { limits.rate_per_second = static_cast<double>(v); },
        "messages a second each connection may send on average; over it they get `rate-limited`; 0: no limit")
        ->default_str(fmt::format("{}", limits.rate_per_second))
        ->group(limit);
    add(
        app, "--rate-burst", "N", number(1, 100'000'000), [&](auto v) { limits.rate_burst = static_cast<double>(v); },
        "largest burst a connection may send at once before --rate-limit applies")
        ->default_str(fmt::format("{}", limits.rate_burst))
        ->group(limit);
    add(
        app, "--max-message-bytes", "N", number(256, 64ull * 1024 * 1024),
        [&](auto v) { limits.max_message_bytes = static_cast<std::size_t>(v); },
        "longest message; longer ones close the socket with 1009")
        ->default_str(std::to_string(limits.max_message_bytes))
        ->group(limit);
    add(
        app, "--max-connections-per-address", "N", number(0, 100'000'000, "no limit"),
        [&](auto v) { limits.max_connections_per_address = static_cast<std::size_t>(v); },
        "users one client address may have connected at once; 0: no limit")
        ->default_str(std::to_string(limits.max_connections_per_address))
        ->group(limit);
    add(
        app, "--max-rooms-per-address", "N", number(0, 100'000'000, "no limit"),
        [&](auto v) { limits.max_rooms_per_address = static_cast<std::size_t>(v); },
        "rooms one client address may have opened and still open; 0: no limit")
        ->default_str(std::to_string(limits.max_rooms_per_address))
        ->group(limit);
    add(
        app, "--max-http-connections", "N", number(0, 100'000'000, "no limit"),
        [&](auto v) { transport.max_http_connections = static_cast<std::size_t>(v); },
        "connections still in HTTP (requests, upgrades in progress) at once; 0: no limit")
        ->default_str(std::to_string(transport.max_http_connections))
        ->group(limit);
    add(
        app, "--max-handshakes-per-address", "N", number(0, 100'000'000, "no limit"),
        [&](auto v) { transport.max_handshakes_per_address = static_cast<std::size_t>(v); },
        "of those, from one peer address; 0: no limit; trusted proxies are exempt")
        ->default_str(std::to_string(transport.max_handshakes_per_address))
        ->group(limit);
    add(
        app, "--idle-timeout", "SECONDS", number(1, 86'400),
        [&](auto v) { transport.idle_timeout = std::chrono::seconds(v); },
        "drop a client silent this long; it is pinged after half")
        ->default_str(seconds_text(transport.idle_timeout))
        ->group(limit);
    add(
        app, "--close-timeout", "SECONDS", seconds(milliseconds(100), milliseconds(60'000)),
        [&](milliseconds v) { transport.close_timeout = v; },
        "how long a closing handshake may take before the connection is dropped; also bounds the exit on "
        "SIGTERM/SIGINT when clients never answer the close frame (twice over TLS); decimals allowed")
        ->default_str(seconds_text(transport.close_timeout))
        ->group(limit);
    add(
        app, "--resume-window", "SECONDS", seconds(milliseconds(0), milliseconds(3'600'000), "off"),
        [&](milliseconds v) { hub.resume_window = v; },
        "how long a user whose connection broke (no close frame) may come back with its resume token and keep its "
        "ID; the others hear nothing meanwhile; decimals allowed; 0: it leaves at once")
        ->default_str(seconds_text(hub.resume_window))
        ->group(limit);

    const std::string cluster = "Cluster";
    auto* redis_url =
        add(
            app, "--redis", "URL",
            text("a URL such as redis://127.0.0.1:6379",
                 [](const std::string& v) { return v.rfind("redis://", 0) == 0; }),
            [&](std::string v) {
                config.cluster.emplace();
                config.cluster->url = std::move(v);
            },
            "join a cluster: redis://[[user]:password@]HOST[:PORT][/DB]; users of one room may then connect "
            "to any node (default: none, this process alone)")
            ->group(cluster);
    add(
        app, "--node-lease", "SECONDS", seconds(milliseconds(300), milliseconds(3'600'000)),
        [&](milliseconds v) { parts.node_lease = v; },
        "how long after this node stops renewing its lease the others treat its users as gone; decimals allowed")
        ->default_str(seconds_text(redis::ClusterOptions{}.node_lease))
        ->needs(redis_url)
        ->group(cluster);
    add(
        app, "--node-name", "NAME", text("a name", not_empty), [&](std::string v) { parts.node_name = std::move(v); },
        "this node's name in logs and metrics (default: HOSTNAME:PID)")
        ->needs(redis_url)
        ->group(cluster);

    const std::string ice = "ICE servers for browsers, given to them in `login`";
    auto* stun = add_repeatable(
        app, "--stun", "URL",
        text("a URL such as stun:stun.example.org:3478", [](const std::string& v) { return v.rfind("stun:", 0) == 0; }),
        [&](std::string v) { parts.stun.push_back(std::move(v)); },
        "a STUN server, e.g. stun:stun.example.org:3478; repeatable");
    stun->group(ice);
    auto* turn_url = add_repeatable(
        app, "--turn", "URL",
        text("a URL such as turn:turn.example.org:3478?transport=udp",
             [](const std::string& v) { return v.rfind("turn:", 0) == 0 || v.rfind("turns:", 0) == 0; }),
        [&](std::string v) { parts.turn.push_back(std::move(v)); },
        "a TURN server, e.g. turn:turn.example.org:3478?transport=udp; repeatable; needs --turn-secret-file, or "
        "--turn-user and --turn-password-file");
    turn_url->group(ice);
    auto* turn_secret = add(
        app, "--turn-secret-file", "FILE", secret_file(), [&](std::string v) { parts.turn_secret = std::move(v); },
        "coturn's static-auth-secret (use-auth-secret), FILE's content without a trailing newline: each login gets "
        "its own credentials (TURN REST scheme)");
    turn_secret->needs(turn_url)->group(ice);
    add(
        app, "--turn-ttl", "SECONDS", number(60, 7ull * 86400), [&](auto v) { parts.turn_ttl = v; },
        "how long those credentials are valid")
        ->default_str(std::to_string(parts.turn_ttl))
        ->group(ice);
    auto* turn_user = add(
        app, "--turn-user", "NAME", text("a user name", not_empty),
        [&](std::string v) { parts.turn_user = std::move(v); }, "fixed TURN credentials instead: the user name");
    auto* turn_password = add(
        app, "--turn-password-file", "FILE", secret_file(), [&](std::string v) { parts.turn_password = std::move(v); },
        "the password of those fixed credentials, FILE's content");
    turn_user->needs(turn_url)->needs(turn_password)->excludes(turn_secret)->group(ice);
    turn_password->needs(turn_url)->needs(turn_user)->excludes(turn_secret)->group(ice);

    const std::string tokens = "Issuing a token (prints it and exits)";
    auto* issue = add(
        app, "--issue-token", "SUBJECT", text("a subject (the user's identity)", not_empty),
        [&](std::string v) { config.issue_subject = std::move(v); }, "print a token for SUBJECT and exit");
    issue->needs(app.get_option("--token-secret-file"))->group(tokens);
    add(
        app, "--token-room", "ROOM",
        text("a room name (1-64 of A-Z a-z 0-9 . _ ~ -), \"\" or \"*\"",
             [](const std::string& v) { return v == "*" || v.empty() || room_from_path("/room/" + v) == v; }),
        [&](std::string v) { config.token_room = std::move(v); },
        "the room an issued token grants: a name, \"\" for the default room, \"*\" for any")
        ->default_str(config.token_room)
        ->group(tokens);
    add(
        app, "--token-ttl", "SECONDS", number(1, 10ull * 365 * 86400), [&](auto v) { config.token_ttl = v; },
        "how long an issued token is valid")
        ->default_str(std::to_string(config.token_ttl))
        ->group(tokens);
    add(
        app, "--token-profile", "JSON",
        Reader<nlohmann::json>{"a JSON object such as '{\"name\":\"Ann\"}'",
                               [](const std::string& v) -> std::optional<nlohmann::json> {
                                   auto profile = nlohmann::json::parse(v, nullptr, false);
                                   if (!profile.is_object()) return std::nullopt;
                                   return profile;
                               }},
        [&](nlohmann::json v) { config.token_profile = std::move(v); },
        "the public profile an issued token carries, a JSON object such as '{\"name\":\"Ann\"}' (default: none)")
        ->needs(issue)
        ->group(tokens);

    const std::string behaviour = "Logs and protocol";
    std::vector<std::pair<std::string, LogLevel>> levels;
    for (auto level :
         {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error, LogLevel::off})
        levels.emplace_back(std::string(to_string(level)), level);
    add(
        app, "--log-level", "LEVEL", one_of(std::move(levels)), [&](LogLevel v) { hub.log_level = v; },
        "trace, debug, info, warn, error or off")
        ->default_str(std::string(to_string(hub.log_level)))
        ->group(behaviour);
    add(
        app, "--unknown-types", "POLICY",
        one_of<UnknownTypePolicy>({{"reject", UnknownTypePolicy::reject}, {"route", UnknownTypePolicy::route}}),
        [&](UnknownTypePolicy v) { hub.unknown_types = v; },
        "reject: unregistered message types get `unknown-type`; route: route them by `to` like the original seed "
        "server")
        ->default_str(hub.unknown_types == UnknownTypePolicy::route ? "route" : "reject")
        ->group(behaviour);

    for (auto* option : app.get_options())
        if (option != app.get_help_ptr() && option != app.get_config_ptr()) option->envname(environment_name(*option));
}

/** The ICE servers and the cluster from the options that make them up; an error message if they do not fit. */
std::optional<std::string> combine(const Parts& parts, Config& config) {
    const bool fixed_turn = parts.turn_user.has_value();
    if (!parts.turn.empty() && !fixed_turn && !parts.turn_secret)
        return "--turn needs --turn-secret-file, or --turn-user and --turn-password-file";
    if (parts.turn_secret) {
        config.hub.ice_servers =
            turn::ice_servers(parts.stun, parts.turn, *parts.turn_secret, std::chrono::seconds(parts.turn_ttl));
    } else if (!parts.stun.empty() || !parts.turn.empty()) {
        std::vector<IceServer> servers;
        if (!parts.stun.empty()) servers.push_back({parts.stun, {}, {}});
        if (!parts.turn.empty()) servers.push_back({parts.turn, *parts.turn_user, *parts.turn_password});
        config.hub.ice_servers = [servers](std::uint64_t, const std::string&) { return servers; };
    }
    if (config.cluster) {
        if (parts.node_lease) config.cluster->node_lease = *parts.node_lease;
        config.cluster->node_name = parts.node_name;
    }
    return std::nullopt;
}

}  // namespace

std::optional<int> parse_options(int argc, char** argv, Config& config) {
    unsigned hardware = std::thread::hardware_concurrency();
    config.server.threads = hardware == 0 ? 1 : (hardware > 8 ? 8 : hardware);

    CLI::App app{"", "switchboard-server"};
    Parts parts;
    define_options(app, config, parts);
    auto fail = [](const std::string& why) {
        std::cerr << "switchboard-server: " << why << " (see --help)\n";
        return 2;
    };
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        return 0;
    } catch (const CLI::FileError& error) {
        return fail(std::string("--config: ") + error.what());
    } catch (const CLI::ParseError& error) {
        return fail(error.what());
    }
    if (set_in_environment(config_environment) && app.get_config_ptr()->count() == 0)
        return fail(fmt::format("{}: cannot read {}", config_environment, std::getenv(config_environment)));
    if (auto error = combine(parts, config)) return fail(*error);
    return std::nullopt;
}

}  // namespace switchboard::server

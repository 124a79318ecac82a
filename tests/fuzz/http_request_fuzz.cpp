// http_request_fuzz: the bundled server's plain-HTTP answers (server/web.cpp)
// and the hub's admission, for any request bytes.
//
// The input goes through Beast's request_parser<string_body> (put() in a
// loop, the server's 16 KiB body limit), up to 8 requests one after another
// as on a keep-alive connection. Each complete request is then:
//   - answered by make_web_handler over a web root made once at startup in a
//     temporary directory: a few files, a subdirectory, a symlink to a secret
//     file next to the root, a symlink to the directory above the root, and
//     an absolute symlink to the secret. Checks: no exception; the status is
//     200, 400, 403, 404 or 405, and 405 exactly for methods other than GET
//     and HEAD; no answer ever contains the secret; a 200's body is one of
//     the files under the root, the bundled client, "ok\n" or the metrics
//     (empty for HEAD), and a streamed file's descriptor is really a file
//     under the root (by /proc/self/fd) or the bundled client;
//   - checked by the adapter's upgrade validation (src/beast/upgrade_request.hpp)
//     against a model: missing_host refuses exactly HTTP/1.1 (and later)
//     without Host; bad_upgrade refuses exactly that or a Sec-WebSocket-Key
//     that is not the canonical base64 of 16 bytes;
//   - turned into a Handshake (target split at the first '?', headers copied)
//     for room_from_path and Hub::admit. Checks: room_from_path gives "" for
//     "/", the name for "/room/<1-64 of A-Za-z0-9._~->" and nothing otherwise;
//     admit answers 101, 403 or 404: 404 exactly when the path has no room,
//     403 exactly for an Origin other than the allowed one, and an admitted
//     room is the path's;
//   - answered by the admin API (server/admin.cpp) on a fresh hub with
//     three users: only /admin targets, JSON with a documented status, 401
//     exactly without the bearer token, never an exception.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

#include <unistd.h>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <switchboard/hub.hpp>

#include "admin.hpp"
#include "beast/upgrade_request.hpp"
#include "detail/ascii.hpp"
#include "fuzz_check.hpp"
#include "web.hpp"

namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using switchboard::fuzz::printable;

constexpr std::string_view secret = "SECRET 5f0c2e: this file is outside the web root\n";
constexpr std::string_view allowed_origin = "http://localhost:8080";

/** The temporary web root and what it holds, made once, removed at exit. */
struct WebRoot {
    fs::path base;
    std::set<std::string> servable;  // bodies a 200 may carry

    WebRoot() {
        std::string pattern = (fs::temp_directory_path() / "switchboard-fuzz-web-XXXXXX").string();
        FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr, "mkdtemp failed");
        base = pattern;
        const fs::path root = base / "root";
        fs::create_directories(root / "sub");
        fs::create_directories(root / "empty");
        write(base / "secret.txt", std::string(secret));
        write(base / "client.js", "// the bundled client\n");
        write(root / "index.html", "<!doctype html><title>index</title>\n");
        write(root / "app.js", "console.log('app');\n");
        write(root / "style.css", "body { margin: 0 }\n");
        write(root / "a b%.txt", "a file with a space and a percent sign\n");
        write(root / "sub" / "index.html", "<!doctype html><title>sub</title>\n");
        write(root / "sub" / "notes.txt", "notes\n");
        fs::create_symlink("../secret.txt", root / "secret-link");
        fs::create_symlink(base / "secret.txt", root / "absolute-link");
        fs::create_directory_symlink("../..", root / "sub" / "up");
        fs::create_symlink("app.js", root / "inside-link");
        servable.insert("ok\n");
    }

    void write(const fs::path& file, const std::string& content) {
        std::ofstream(file, std::ios::binary) << content;
        if (content != secret) servable.insert(content);
    }
};

WebRoot& web_root() {
    static WebRoot* root = [] {
        auto* r = new WebRoot;
        std::atexit([] {
            std::error_code ec;
            fs::remove_all(web_root().base, ec);
        });
        return r;
    }();
    return *root;
}

switchboard::Hub& hub() {
    static switchboard::Hub* h = [] {
        switchboard::Options o;
        o.allowed_origins = {std::string(allowed_origin)};
        return new switchboard::Hub(o);
    }();
    return *h;
}

const switchboard::beast::HttpHandler& handler() {
    static const auto* h = [] {
        switchboard::server::WebOptions web;
        web.root = web_root().base / "root";
        web.client_js = web_root().base / "client.js";
        return new switchboard::beast::HttpHandler(switchboard::server::make_web_handler(hub(), web));
    }();
    return *h;
}

/** The room a path names, written from the protocol's rules. */
std::optional<std::string> expected_room(std::string_view path) {
    if (path == "/") return std::string();
    if (path.substr(0, 6) != "/room/") return std::nullopt;
    auto name = path.substr(6);
    if (name.empty() || name.size() > 64) return std::nullopt;
    for (char c : name) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '~' || c == '-';
        if (!ok) return std::nullopt;
    }
    return std::string(name);
}

/**
 * What a streamed file answer would send: the file the descriptor really
 * is (by /proc/self/fd) must lie under the root or be the bundled client,
 * and its bytes are read through the descriptor itself.
 */
std::string file_content(switchboard::beast::FileResponse::body_type::value_type& body, const std::string& target) {
    FUZZ_CHECK(body.is_open(), "a file answer without an open file for " + printable(target));
    const int fd = body.file().native_handle();
    std::error_code ec;
    const fs::path real = fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
    const fs::path root = fs::canonical(web_root().base / "root");
    const bool under_root = real.string().rfind(root.string() + "/", 0) == 0;
    FUZZ_CHECK(!ec && (under_root || real == fs::canonical(web_root().base / "client.js")),
               "a file answer for " + printable(target) + " opened " + real.string());
    std::string content(static_cast<std::size_t>(body.size()), '\0');
    const auto got = pread(fd, content.data(), content.size(), 0);
    FUZZ_CHECK(got == static_cast<ssize_t>(content.size()), "cannot read the answered file for " + printable(target));
    return content;
}

void check_web_answer(const switchboard::beast::HttpRequest& request) {
    const std::string target(request.target());
    switchboard::beast::HttpAnswer answer;
    try {
        answer = handler()(request);
    } catch (const std::exception& e) {
        FUZZ_CHECK(false, std::string("the web handler threw: ") + e.what() + "; target " + printable(target));
    }
    unsigned status = 0;
    std::string body;
    if (auto* text = std::get_if<switchboard::beast::HttpResponse>(&answer)) {
        status = text->result_int();
        body = text->body();
    } else {
        auto& file = std::get<switchboard::beast::FileResponse>(answer);
        status = file.result_int();
        body = file_content(file.body(), target);
    }
    const bool get_or_head = request.method() == http::verb::get || request.method() == http::verb::head;
    FUZZ_CHECK(status == 200 || status == 400 || status == 403 || status == 404 || status == 405,
               "status " + std::to_string(status) + " for " + printable(target));
    FUZZ_CHECK((status == 405) == !get_or_head, "status " + std::to_string(status) + " for method " +
                                                    std::string(request.method_string()) + " " + printable(target));
    FUZZ_CHECK(body.find(secret.substr(0, 13)) == std::string::npos,
               "status " + std::to_string(status) + " with the secret for " + printable(target));
    if (status != 200) return;
    if (request.method() == http::verb::head) {
        FUZZ_CHECK(body.empty(), "HEAD answered with a body for " + printable(target));
        return;
    }
    const bool metrics = body.rfind("# HELP switchboard_connections_open ", 0) == 0;
    FUZZ_CHECK(metrics || web_root().servable.count(body) == 1,
               "200 with a body that is no file of the root for " + printable(target) + ": " + printable(body, 200));
}

/** The first header named `name` (any case), or nullopt. */
std::optional<std::string> first_header(const switchboard::beast::HttpRequest& request, std::string_view name) {
    for (const auto& field : request)
        if (switchboard::detail::equal_ignoring_ascii_case(std::string(field.name_string()), name))
            return std::string(field.value());
    return std::nullopt;
}

/** RFC 6455 4.2.1: the key decodes from base64 to exactly 16 bytes, written canonically. */
bool expected_valid_key(const std::string& key) {
    static const std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (key.size() != 24 || key.compare(22, 2, "==") != 0) return false;
    std::string bytes;
    unsigned bits = 0, count = 0;
    for (std::size_t i = 0; i < 22; ++i) {
        auto v = alphabet.find(key[i]);
        if (v == std::string_view::npos) return false;
        bits = (bits << 6) | static_cast<unsigned>(v);
        count += 6;
        if (count >= 8) {
            count -= 8;
            bytes += static_cast<char>((bits >> count) & 0xff);
        }
    }
    if (bytes.size() != 16) return false;
    std::string again;  // re-encoded: leftover bits must have been zero
    for (std::size_t i = 0; i < 16; i += 3) {
        unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
        if (i + 1 < 16) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        if (i + 2 < 16) n |= static_cast<unsigned char>(bytes[i + 2]);
        again += alphabet[(n >> 18) & 63];
        again += alphabet[(n >> 12) & 63];
        again += i + 1 < 16 ? alphabet[(n >> 6) & 63] : '=';
        again += i + 2 < 16 ? alphabet[n & 63] : '=';
    }
    return again == key;
}

/** The adapter's checks before it answers or upgrades: Host on HTTP/1.1, and a 16-byte key for an upgrade. */
void check_upgrade_validation(const switchboard::beast::HttpRequest& request) {
    const std::string target(request.target());
    const bool host_missing = request.version() >= 11 && !first_header(request, "host");
    const auto key = first_header(request, "sec-websocket-key");
    const bool key_valid = key && expected_valid_key(*key);
    const auto no_host = switchboard::beast::detail::missing_host(request);
    FUZZ_CHECK(no_host.has_value() == host_missing, std::string("missing_host: ") + (no_host ? "refused" : "accepted") +
                                                        " HTTP/" + std::to_string(request.version() / 10) + "." +
                                                        std::to_string(request.version() % 10) + " " +
                                                        printable(target));
    const auto bad = switchboard::beast::detail::bad_upgrade(request);
    FUZZ_CHECK(bad.has_value() == (host_missing || !key_valid),
               std::string("bad_upgrade: ") + (bad ? "refused (" + bad->reason + ")" : std::string("accepted")) +
                   " key " + (key ? "'" + printable(*key) + "'" : std::string("absent")) +
                   (host_missing ? ", no Host" : ""));
    FUZZ_CHECK(!bad || !bad->reason.empty(), "bad_upgrade without a reason");
}

void check_admission(const switchboard::beast::HttpRequest& request) {
    const std::string target(request.target());
    switchboard::Handshake handshake;
    const auto question = target.find('?');
    handshake.path = target.substr(0, question);
    if (question != std::string::npos) handshake.query = target.substr(question + 1);
    std::optional<std::string> origin;
    for (const auto& field : request) {
        handshake.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        if (!origin && switchboard::detail::equal_ignoring_ascii_case(std::string(field.name_string()), "origin"))
            origin = std::string(field.value());
    }
    handshake.remote_address = "192.0.2.1";

    const auto room = switchboard::room_from_path(handshake.path);
    const auto expected = expected_room(handshake.path);
    FUZZ_CHECK(room == expected, "room_from_path(" + printable(handshake.path) + ") gave " +
                                     (room ? "'" + printable(*room) + "'" : std::string("nothing")) + ", expected " +
                                     (expected ? "'" + printable(*expected) + "'" : std::string("nothing")));

    const auto path = handshake.path;
    auto admission = hub().admit(std::move(handshake));
    const int status = admission.status();
    const bool bad_origin = origin && !origin->empty() && *origin != allowed_origin;
    const int expected_status = !expected ? 404 : bad_origin ? 403 : 101;
    FUZZ_CHECK(status == expected_status, "admit(" + printable(path) + ") answered " + std::to_string(status) +
                                              ", expected " + std::to_string(expected_status));
    FUZZ_CHECK(admission ? admission.reason().empty() : !admission.reason().empty(), "reason: " + admission.reason());
    if (!admission) return;
    const std::string& name = admission.room();
    FUZZ_CHECK(name == *expected, "admitted to room '" + printable(name) + "' for " + printable(path));
    FUZZ_CHECK(name.size() <= 64, "a room name of " + std::to_string(name.size()) + " bytes");
    for (char c : name)
        FUZZ_CHECK(std::string_view("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-").find(c) !=
                       std::string_view::npos,
                   "a room name with " + printable(std::string(1, c)));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    (void)web_root();
    (void)handler();
    return 0;
}

/**
 * The admin API (server/admin.cpp) on a fresh hub with three users: it
 * answers only /admin targets, always with JSON and a status it documents,
 * 401 exactly without the right bearer token, and never throws.
 */
void check_admin_answer(const switchboard::beast::HttpRequest& request) {
    switchboard::Hub hub;
    auto a = hub.join_local("lobby", {}, switchboard::Hub::LocalId::fresh, {{"name", "Ann"}});
    auto b = hub.join_local("lobby", {}, switchboard::Hub::LocalId::fresh);
    auto c = hub.join_local("", {}, switchboard::Hub::LocalId::host);
    auto admin = switchboard::server::make_admin_handler(hub, "fuzz-token");
    auto answer = admin(request);
    auto target = std::string_view(request.target().data(), request.target().size());
    auto path = target.substr(0, target.find('?'));
    const bool admin_path = path == "/admin" || path.rfind("/admin/", 0) == 0;
    FUZZ_CHECK(answer.has_value() == admin_path, "admin answered " + printable(target) + " wrongly");
    if (!answer) return;
    auto status = answer->result_int();
    FUZZ_CHECK(status == 200 || status == 400 || status == 401 || status == 404 || status == 405 || status == 409,
               "admin status " + std::to_string(status) + " for " + printable(target));
    auto auth = request[http::field::authorization];
    const bool authorized = std::string_view(auth.data(), auth.size()) == "Bearer fuzz-token";
    FUZZ_CHECK((status == 401) == !authorized, "401 iff unauthorized, for " + printable(target));
    FUZZ_CHECK((*answer)[http::field::content_type] == "application/json", "admin answer is not JSON");
    auto body = nlohmann::json::parse(answer->body(), nullptr, false);
    FUZZ_CHECK(body.is_object(), "admin body is not a JSON object: " + printable(answer->body()));
    FUZZ_CHECK(status == 200 || body.contains("error"), "a failure without an error object");
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Requests one after another on one connection, as keep-alive reads them.
    std::size_t used = 0;
    for (int requests = 0; requests < 8 && used < size; ++requests) {
        http::request_parser<http::string_body> parser;
        parser.eager(true);
        parser.body_limit(16 * 1024);  // as the server's HTTP sessions
        boost::beast::error_code ec;
        while (used < size && !parser.is_done()) {
            std::size_t n = parser.put(boost::asio::buffer(data + used, size - used), ec);
            used += n;
            if (ec || n == 0) break;  // need_more here means the request is cut short
        }
        if (!parser.is_done()) return 0;
        const auto& request = parser.get();
        check_web_answer(request);
        check_upgrade_validation(request);
        check_admission(request);
        check_admin_answer(request);
    }
    return 0;
}

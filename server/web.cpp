#include "web.hpp"

#include <sstream>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

#include <fmt/format.h>

#include <switchboard/transport.hpp>

#include "detail/ascii.hpp"
#include "detail/percent_decode.hpp"

namespace switchboard::server {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using beast::HttpRequest;
using beast::HttpResponse;

namespace {

HttpResponse text_response(http::status status, const HttpRequest& request, std::string body) {
    HttpResponse response{status, request.version()};
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = std::move(body);
    return response;
}

/** For HEAD: the GET answer's headers, no body (and no file left open). */
beast::HttpAnswer strip_body_for_head(const HttpRequest& request, beast::HttpAnswer answer) {
    if (request.method() != http::verb::head) return answer;
    return std::visit(
        [](auto& response) {
            HttpResponse head{response.base()};
            head.content_length(response.payload_size().value_or(0));
            return head;
        },
        answer);
}

/** True when `path` is `root` itself or lies below it (both canonical). */
bool inside(const fs::path& root, const fs::path& path) {
    auto r = root.begin(), p = path.begin();
    for (; r != root.end(); ++r, ++p)
        if (p == path.end() || *r != *p) return false;
    return true;
}

class WebHandler {
public:
    WebHandler(const Hub& hub, WebOptions options) : hub_(hub), options_(std::move(options)) {
        std::error_code ec;
        if (!options_.root.empty()) root_ = fs::canonical(options_.root, ec);
        if (ec) root_.clear();
    }

    beast::HttpAnswer operator()(const HttpRequest& request) const {
        if (request.method() != http::verb::get && request.method() != http::verb::head) {
            auto response = text_response(http::status::method_not_allowed, request, "method not allowed\n");
            response.set(http::field::allow, "GET, HEAD");
            return response;
        }
        auto target = split_target(std::string_view(request.target().data(), request.target().size()));
        return strip_body_for_head(request, answer(request, target.path));
    }

private:
    beast::HttpAnswer answer(const HttpRequest& request, std::string_view target) const {
        if (target == "/healthz") {
            auto why = options_.unhealthy ? options_.unhealthy() : std::string();
            if (!why.empty()) return text_response(http::status::service_unavailable, request, why + "\n");
            return text_response(http::status::ok, request, "ok\n");
        }
        if (target == "/metrics") {
            auto text = prometheus_metrics(hub_.counters());
            if (options_.more_metrics) text += options_.more_metrics();
            auto response = text_response(http::status::ok, request, std::move(text));
            response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
            response.set(http::field::cache_control, "no-store");
            return response;
        }
        std::string path;
        if (!percent_decode(target, path) || path.empty() || path.front() != '/')
            return text_response(http::status::bad_request, request, "bad request path\n");

        // Decoded segments: refuse any "..", "." or backslash outright, before touching the file system.
        std::vector<std::string> segments;
        std::size_t start = 1;
        while (start <= path.size()) {
            auto end = path.find('/', start);
            if (end == std::string::npos) end = path.size();
            std::string segment = path.substr(start, end - start);
            if (segment == ".." || segment == "." || segment.find('\\') != std::string::npos)
                return text_response(http::status::not_found, request, "not found\n");
            if (!segment.empty()) segments.push_back(std::move(segment));
            start = end + 1;
        }
        if (path.back() == '/') segments.push_back("index.html");

        if (!root_.empty()) {
            fs::path file = root_;
            for (auto& s : segments)
                file /= s;
            std::error_code ec;
            if (fs::is_directory(file, ec)) file /= "index.html";
            if (fs::exists(file, ec)) {
                auto real = fs::canonical(file, ec);
                if (ec || !inside(root_, real)) return text_response(http::status::forbidden, request, "forbidden\n");
                return serve_file(request, real);
            }
        }
        if (segments.size() == 1 && segments[0] == "switchboard.js" && !options_.client_js.empty())
            return serve_file(request, options_.client_js);
        return text_response(http::status::not_found, request, "not found\n");
    }

    /** The file itself, opened now, streamed as the client reads (any size). */
    beast::HttpAnswer serve_file(const HttpRequest& request, const fs::path& file) const {
        std::error_code ec;
        if (!fs::is_regular_file(file, ec)) return text_response(http::status::not_found, request, "not found\n");
        beast::FileResponse response{http::status::ok, request.version()};
        boost::beast::error_code open_error;
        response.body().open(file.c_str(), boost::beast::file_mode::scan, open_error);
        if (open_error) return text_response(http::status::forbidden, request, "cannot read the file\n");
        response.set(http::field::content_type, std::string(content_type(file)));
        response.set(http::field::cache_control, "no-cache");
        response.prepare_payload();
        return response;
    }

    const Hub& hub_;
    WebOptions options_;
    fs::path root_;
};

void metric(std::ostringstream& out, const char* name, const char* type, const char* help, std::uint64_t value) {
    out << prometheus_metric(name, type, help, value);
}

void labelled(std::ostringstream& out, const char* name, const char* help, const char* label,
              const std::map<std::string, std::uint64_t>& values) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " counter\n";
    for (const auto& [key, value] : values)
        out << name << '{' << label << "=\"" << prometheus_label(key) << "\"} " << value << '\n';
}

}  // namespace

beast::HttpHandler make_web_handler(const Hub& hub, WebOptions options) {
    auto handler = std::make_shared<const WebHandler>(hub, std::move(options));
    return [handler](const HttpRequest& request) { return (*handler)(request); };
}

std::string prometheus_label(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

std::string prometheus_metric(std::string_view name, std::string_view type, std::string_view help,
                              std::uint64_t value) {
    return fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
}

std::string prometheus_metrics(const Counters& c) {
    std::ostringstream out;
    metric(out, "switchboard_connections_open", "gauge", "Users joined right now.", c.connections_open);
    metric(out, "switchboard_connections_total", "counter", "Users ever joined.", c.connections_total);
    metric(out, "switchboard_connections_refused_total", "counter", "Connections refused at admission or join.",
           c.connections_refused);
    metric(out, "switchboard_rooms_open", "gauge", "Rooms with at least one user.", c.rooms_open);
    metric(out, "switchboard_sessions_suspended", "gauge",
           "Users whose connection broke, waiting to resume (counted as joined).", c.sessions_suspended);
    metric(out, "switchboard_sessions_resumed_total", "counter", "Resumes that kept their user ID.",
           c.sessions_resumed);
    metric(out, "switchboard_messages_received_total", "counter", "Text messages received from clients.",
           c.messages_received);
    metric(out, "switchboard_messages_routed_total", "counter", "Messages delivered to a recipient.",
           c.messages_routed);
    metric(out, "switchboard_messages_handled_total", "counter", "Messages given to a host handler.",
           c.messages_handled);
    metric(out, "switchboard_bytes_routed_total", "counter", "Bytes of routed messages.", c.bytes_routed);
    labelled(out, "switchboard_errors_total", "Error replies sent, by error code.", "code", c.errors);
    labelled(out, "switchboard_transport_closes_total", "Connections closed by the transport, by reason.", "reason",
             c.transport_closes);
    return std::move(out).str();
}

std::string_view content_type(const fs::path& file) {
    static const std::pair<std::string_view, std::string_view> types[] = {
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".png", "image/png"},
        {".svg", "image/svg+xml"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
        {".wasm", "application/wasm"},
    };
    const std::string ext = detail::ascii_lowercase(file.extension().string());
    for (const auto& [extension, type] : types)
        if (ext == extension) return type;
    return "application/octet-stream";
}

bool percent_decode(std::string_view in, std::string& out) {
    return detail::percent_decode(in, out, {false, false});
}

}  // namespace switchboard::server

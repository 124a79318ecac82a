// switchboard-server: what it answers over plain HTTP on its WebSocket port.
//
//   GET /healthz         200 "ok", or 503 and why when the node cannot serve (no Redis)
//   GET /metrics         the hub's counters in Prometheus text format
//   GET /switchboard.js  the JS client (from the web root if it has one, else the bundled one)
//   GET /anything-else   a static file under the web root ("/" and "dir/" mean index.html)
//
// Files are streamed from disk as the client reads them, whatever their
// size. HEAD works wherever GET does; other methods get 405. Paths that leave the
// web root (`..`, percent-encoded or not, and symlinks pointing outside) get
// 404 or 403.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include <switchboard/beast.hpp>

namespace switchboard::server {

struct WebOptions {
    std::filesystem::path root;       ///< directory of static files; empty: none
    std::filesystem::path client_js;  ///< served at /switchboard.js when the root has none; empty: none
    /** Why this node cannot serve right now ("" when it can): /healthz answers 503 with it. Unset: always ok. */
    std::function<std::string()> unhealthy;
    /** More Prometheus text appended to /metrics (e.g. the cluster's). */
    std::function<std::string()> more_metrics;
};

/** The HTTP handler for switchboard::beast::ServerOptions::http_handler. */
beast::HttpHandler make_web_handler(const Hub& hub, WebOptions options);

/** The hub's counters in the Prometheus text exposition format (version 0.0.4). */
std::string prometheus_metrics(const Counters& counters);

/** A label value in that format: backslash and quote escaped, newlines as \n. */
std::string prometheus_label(std::string_view value);

/** One metric in that format: HELP, TYPE and the sample. */
std::string prometheus_metric(std::string_view name, std::string_view type, std::string_view help, std::uint64_t value);

/** Content-Type for a file name, by extension; application/octet-stream when unknown. */
std::string_view content_type(const std::filesystem::path& file);

/** Decode %XX escapes; false on a malformed escape or an encoded NUL. */
bool percent_decode(std::string_view in, std::string& out);

}  // namespace switchboard::server

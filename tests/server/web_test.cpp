// Unit tests of switchboard-server's HTTP pieces, without sockets.
#include "web.hpp"
#include "catch.hpp"

using namespace switchboard;
using namespace switchboard::server;

TEST_CASE("percent_decode", "[server]") {
    std::string out;
    CHECK(percent_decode("/a%20b/%2e%2E%2f", out));
    CHECK(out == "/a b/../");
    CHECK_FALSE(percent_decode("/%2", out));
    CHECK_FALSE(percent_decode("/%zz", out));
    CHECK_FALSE(percent_decode("/%00", out));
}

TEST_CASE("content_type by extension", "[server]") {
    CHECK(content_type("index.html") == "text/html; charset=utf-8");
    CHECK(content_type("switchboard.js") == "text/javascript; charset=utf-8");
    CHECK(content_type("STYLE.CSS") == "text/css; charset=utf-8");
    CHECK(content_type("a.png") == "image/png");
    CHECK(content_type("a.svg") == "image/svg+xml");
    CHECK(content_type("a.json") == "application/json");
    CHECK(content_type("favicon.ico") == "image/x-icon");
    CHECK(content_type("notes.txt") == "text/plain; charset=utf-8");
    CHECK(content_type("archive.tar") == "application/octet-stream");
}

TEST_CASE("prometheus_metrics: HELP/TYPE lines, labels escaped", "[server]") {
    Counters c;
    c.connections_open = 3;
    c.errors["invalid-json"] = 2;
    c.transport_closes["slow\"consumer"] = 1;
    auto text = prometheus_metrics(c);
    CHECK(text.find("# HELP switchboard_connections_open Users joined right now.\n"
                    "# TYPE switchboard_connections_open gauge\n"
                    "switchboard_connections_open 3\n") != std::string::npos);
    CHECK(text.find("switchboard_errors_total{code=\"invalid-json\"} 2\n") != std::string::npos);
    CHECK(text.find("switchboard_transport_closes_total{reason=\"slow\\\"consumer\"} 1\n") != std::string::npos);
}

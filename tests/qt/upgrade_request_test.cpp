// The Qt adapter's request-head parser and checks, and its outgoing queue's
// bounds, without sockets.
#include <memory>
#include <string>

#include <QtCore/QObject>

#include "catch.hpp"
#include "qt/outgoing_queue.hpp"
#include "qt/upgrade_request.hpp"

using namespace switchboard::qt::detail;

namespace {

const std::string good =
    "GET /room/lobby?name=Ann HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://a.example\r\n\r\n";

std::optional<Refusal> check(const std::string& head) {
    UpgradeRequest request;
    if (auto bad = parse_request_head(head, request)) return bad;
    return check_upgrade(request);
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    return text.replace(text.find(from), from.size(), to);
}

}  // namespace

TEST_CASE("a request head ends at its blank line, what follows is not part of it", "[qt][upgrade]") {
    CHECK(request_head_length("GET / HTTP/1.1\r\nHost: x\r\n") == 0);
    CHECK(request_head_length(good) == good.size());
    CHECK(request_head_length(good + "\x81\x85") == good.size());
}

TEST_CASE("a browser's upgrade request passes and becomes the hub's Handshake", "[qt][upgrade]") {
    UpgradeRequest request;
    REQUIRE_FALSE(parse_request_head(good, request));
    REQUIRE_FALSE(check_upgrade(request));
    auto handshake = make_handshake(request, "127.0.0.1");
    CHECK(handshake.path == "/room/lobby");
    CHECK(handshake.query == "name=Ann");
    CHECK(handshake.header("origin") == "http://a.example");
    CHECK(handshake.remote_address == "127.0.0.1");
    CHECK(handshake.headers.size() == 6);
}

TEST_CASE("bad upgrades are refused with 400 (426 for another WebSocket version)", "[qt][upgrade]") {
    CHECK(check(replaced(good, "Host: 127.0.0.1\r\n", ""))->status == 400);
    CHECK(check(replaced(good, "dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ="))->status == 400);
    CHECK(check(replaced(good, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ"))->status == 400);
    CHECK(check(replaced(good, "GET", "POST"))->status == 400);
    CHECK(check(replaced(good, "Upgrade: websocket\r\n", ""))->status == 400);
    CHECK(check(replaced(good, "HTTP/1.1", "HTTP/1.0"))->status == 400);
    CHECK(check(replaced(good, "Host: 127.0.0.1", "Host : 127.0.0.1"))->status == 400);
    CHECK(check(replaced(good, "Host: 127.0.0.1\r\n", "Host: 127.0.0.1\r\n folded\r\n"))->status == 400);
    CHECK(check("hello\r\n\r\n")->status == 400);
    CHECK(check(replaced(good, "Version: 13", "Version: 8"))->status == 426);
}

TEST_CASE("a refusal is a whole HTTP response with the reason as its body", "[qt][upgrade]") {
    auto text = refusal_response({403, "origin not allowed"});
    CHECK(text.rfind("HTTP/1.1 403 Forbidden\r\n", 0) == 0);
    CHECK(text.find("Content-Length: 18\r\n") != std::string::npos);
    CHECK(text.find("Connection: close\r\n") != std::string::npos);
    CHECK(text.substr(text.size() - 22) == "\r\n\r\norigin not allowed");
}

TEST_CASE("the outgoing queue: routed messages take half, the server's own the rest, then it ends", "[qt][queue]") {
    QObject writer;
    int wakes = 0;
    OutgoingQueue queue(100, &writer, [&] { ++wakes; });
    auto text = [](std::size_t n) { return std::make_shared<const std::string>(n, 'x'); };
    CHECK(queue.push(text(300), true) == OutgoingQueue::Pushed::queued);  // an empty queue takes anything
    CHECK(queue.push(text(1), true) == OutgoingQueue::Pushed::refused);
    auto items = queue.take();
    REQUIRE(items.size() == 1);
    queue.set_unsent(0);
    CHECK(queue.push(text(40), true) == OutgoingQueue::Pushed::queued);
    CHECK(queue.push(text(20), true) == OutgoingQueue::Pushed::refused);  // 60 > 50
    CHECK(queue.push(text(50), false) == OutgoingQueue::Pushed::queued);  // 90 <= 100
    queue.take();                                                         // 90 bytes now in the socket
    CHECK(queue.push(text(20), false) == OutgoingQueue::Pushed::overflow);
    CHECK(queue.push(text(1), false) == OutgoingQueue::Pushed::ignored);
    items = queue.take();
    REQUIRE(items.size() == 1);
    CHECK(items[0].close_code == 1008);
    CHECK(items[0].close_reason == "too slow");
}

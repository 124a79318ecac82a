// cluster_text_fuzz: what switchboard::redis reads from outside its process
// (src/redis/redis_url.hpp, src/redis/cluster_events.hpp), on any bytes.
//
// Input: byte 0 picks the parser (mod 6), the rest is the text.
//   0  parse_redis_url: an accepted URL has a host of allowed characters
//      (or an IPv6 literal), port 1-65535, db 0-15; rebuilt from its fields
//      (user and password %-escaped) it parses to the same fields.
//   1  parse_room_event: an accepted event, written back ("j seq id node",
//      "m seq id node" or "l seq id"), is exactly the input up to the profile: one spelling per
//      event; seq >= 1, IDs within 2^53-1. A join's profile is a JSON
//      object, and the event written back with it reads back the same.
//   2  parse_routed_message: an accepted message, written back with
//      routed_message_text, is exactly the input; the room is 0-64 of
//      A-Za-z0-9._~-, the message non-empty.
//   3  parse_disconnect: an accepted request has a close code an
//      application may send (1000, 3000-4999) and a reason of at most 123
//      bytes; written back with disconnect_text, it is exactly the input.
//   4  parse_claim: an accepted claim has a 32-digit secret, a room name and
//      a node; written back with claim_text, it is exactly the input.
//   5  parse_claim_answer: a granted answer's profile is a JSON object and no
//      kept message is empty; written back, it reads back the same.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cluster_events.hpp"
#include "fuzz_check.hpp"
#include "redis_url.hpp"

namespace {

using namespace switchboard::redis::detail;
using switchboard::fuzz::printable;

std::string escape(const std::string& text) {
    static const char digits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 15];
        }
    }
    return out;
}

void check_url(std::string_view text) {
    std::string why;
    auto url = parse_redis_url(text, why);
    if (!url) {
        FUZZ_CHECK(!why.empty(), "refused without a reason: " + printable(text));
        return;
    }
    FUZZ_CHECK(!url->host.empty(), "no host: " + printable(text));
    FUZZ_CHECK(url->port >= 1, "port 0: " + printable(text));
    FUZZ_CHECK(url->db >= 0 && url->db <= 15, "db out of range: " + printable(text));
    const bool v6 = url->host.find(':') != std::string::npos;
    std::string again = "redis://";
    if (!url->user.empty() || !url->password.empty()) again += escape(url->user) + ":" + escape(url->password) + "@";
    again += v6 ? "[" + url->host + "]" : url->host;
    again += ":" + std::to_string(url->port) + "/" + std::to_string(url->db);
    auto back = parse_redis_url(again, why);
    FUZZ_CHECK(back, "rebuilt URL refused: " + printable(again) + " from " + printable(text) + ": " + why);
    FUZZ_CHECK(back->host == url->host && back->port == url->port && back->db == url->db && back->user == url->user &&
                   back->password == url->password,
               "rebuilt URL differs: " + printable(again) + " from " + printable(text));
}

void check_room_event(std::string_view text) {
    auto e = parse_room_event(text);
    if (!e) return;
    FUZZ_CHECK(e->seq >= 1, "seq 0 accepted: " + printable(text));
    FUZZ_CHECK(e->id <= switchboard::max_user_id, "id too large: " + printable(text));
    std::string again =
        e->joined  ? "j " + std::to_string(e->seq) + " " + std::to_string(e->id) + " " + std::to_string(e->node)
        : e->moved ? "m " + std::to_string(e->seq) + " " + std::to_string(e->id) + " " + std::to_string(e->node)
                   : "l " + std::to_string(e->seq) + " " + std::to_string(e->id);
    FUZZ_CHECK(text.substr(0, again.size()) == again, "read " + printable(text) + " as " + printable(again));
    if (!e->joined) {
        FUZZ_CHECK(text.size() == again.size(), "a leave or move with more: " + printable(text));
        return;
    }
    FUZZ_CHECK(!e->profile.empty() && e->profile.front() == '{', "profile not an object: " + printable(text));
    auto back = parse_room_event(again + " " + e->profile);
    FUZZ_CHECK(back && back->profile == e->profile && back->id == e->id && back->seq == e->seq && back->node == e->node,
               "written back, " + printable(text) + " reads differently");
}

void check_routed(std::string_view text) {
    auto m = parse_routed_message(text);
    if (!m) return;
    FUZZ_CHECK(m->room.size() <= 64, "room too long: " + printable(text));
    for (char c : m->room) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '~' || c == '-';
        FUZZ_CHECK(ok, "room with a bad character: " + printable(text));
    }
    FUZZ_CHECK(!m->message.empty(), "empty message accepted: " + printable(text));
    FUZZ_CHECK(m->to <= switchboard::max_user_id, "recipient too large: " + printable(text));
    auto again = routed_message_text(m->to, m->room, m->message);
    FUZZ_CHECK(again == text, "read " + printable(text) + " as " + printable(again));
}

void check_disconnect(std::string_view text) {
    auto d = parse_disconnect(text);
    if (!d) return;
    FUZZ_CHECK(d->code == 1000 || (d->code >= 3000 && d->code <= 4999), "close code accepted: " + printable(text));
    FUZZ_CHECK(d->reason.size() <= 123, "reason too long: " + printable(text));
    FUZZ_CHECK(disconnect_text(d->id, d->code, d->reason) == text, "written back differently: " + printable(text));
}

void check_claim(std::string_view text) {
    auto c = parse_claim(text);
    if (!c) return;
    FUZZ_CHECK(c->secret.size() == 32 && c->room.size() <= 64 && c->node != 0,
               "bad claim accepted: " + printable(text));
    FUZZ_CHECK(claim_text(*c) == text, "claim written back differently: " + printable(text));
}

void check_claim_answer(std::string_view text) {
    auto a = parse_claim_answer(text);
    if (!a) return;
    FUZZ_CHECK(!a->granted || (!a->profile.empty() && a->profile.front() == '{'), "profile not an object");
    for (auto& m : a->kept)
        FUZZ_CHECK(!m.empty(), "an empty kept message: " + printable(text));
    auto again = parse_claim_answer(claim_answer_text(*a));
    FUZZ_CHECK(again && again->nonce == a->nonce && again->granted == a->granted && again->profile == a->profile &&
                   again->kept == a->kept,
               "written back, " + printable(text) + " reads differently");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 6) {
        case 0:
            check_url(text);
            break;
        case 1:
            check_room_event(text);
            break;
        case 2:
            check_routed(text);
            break;
        case 3:
            check_disconnect(text);
            break;
        case 4:
            check_claim(text);
            break;
        case 5:
            check_claim_answer(text);
            break;
    }
    return 0;
}

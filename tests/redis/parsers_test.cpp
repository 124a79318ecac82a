// What switchboard::redis reads from outside: the --redis URL, and what
// other nodes publish. Anything malformed is refused, never half-read.
#include "catch.hpp"
#include "cluster_events.hpp"
#include "redis_url.hpp"

using namespace switchboard::redis::detail;

TEST_CASE("redis URL: host, port, db, credentials", "[redis]") {
    std::string why;
    auto plain = parse_redis_url("redis://127.0.0.1", why);
    REQUIRE(plain);
    CHECK(plain->host == "127.0.0.1");
    CHECK(plain->port == 6379);
    CHECK(plain->db == 0);
    CHECK(plain->password.empty());

    auto full = parse_redis_url("redis://alice:s%40cret@redis.internal:6380/3", why);
    REQUIRE(full);
    CHECK(full->user == "alice");
    CHECK(full->password == "s@cret");
    CHECK(full->host == "redis.internal");
    CHECK(full->port == 6380);
    CHECK(full->db == 3);

    auto password_only = parse_redis_url("redis://:pw@localhost:7000/", why);
    REQUIRE(password_only);
    CHECK(password_only->user.empty());
    CHECK(password_only->password == "pw");

    auto v6 = parse_redis_url("redis://[::1]:6390", why);
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->port == 6390);
}

TEST_CASE("redis URL: what is refused, with a reason", "[redis]") {
    for (const char* bad : {"", "http://127.0.0.1", "redis://", "redis://:pw@", "redis://host:0", "redis://host:65536",
                            "redis://host:", "redis://host:12ab", "redis://host/16", "redis://host/x",
                            "redis://user@host", "redis://a:%zz@host", "redis://a:%4@host", "redis://[::1",
                            "redis://[::1]x", "redis://ho st", "redis://[g::1]"}) {
        std::string why;
        INFO(bad);
        CHECK(!parse_redis_url(bad, why));
        CHECK(!why.empty());
    }
}

TEST_CASE("room events: joins and leaves, nothing else", "[redis]") {
    auto joined = parse_room_event("j 17 42 3");
    REQUIRE(joined);
    CHECK(joined->joined);
    CHECK(joined->seq == 17);
    CHECK(joined->id == 42);
    CHECK(joined->node == 3);
    CHECK(joined->profile == "{}");
    auto named = parse_room_event(R"(j 19 43 3 {"name": "Ann", "tags": [1, 2]})");
    REQUIRE(named);
    CHECK(named->id == 43);
    CHECK(named->profile == R"({"name":"Ann","tags":[1,2]})");
    for (const char* bad : {"j 19 43 3 [1]", "j 19 43 3 \"Ann\"", "j 19 43 3 {", "j 19 43 3{}", "l 19 43 {}"}) {
        INFO(bad);
        CHECK(!parse_room_event(bad));
    }
    auto left = parse_room_event("l 18 42");
    REQUIRE(left);
    CHECK(!left->joined);
    CHECK(left->seq == 18);
    CHECK(left->id == 42);
    auto moved = parse_room_event("m 20 43 5");
    REQUIRE(moved);
    CHECK(moved->moved);
    CHECK(!moved->joined);
    CHECK(moved->node == 5);
    for (const char* bad :
         {"", "j", "j ", "j 1 2", "j 1 2 ", "l 1", "l 1 2 3", "x 1 2", "j 0 2 3", "j -1 2 3", "m 1 2", "m 1 2 0",
          "m 1 2 3 {}", "l 1 9007199254740992", "j 1 2 3 ", "j 1  2 3", "l 01x 2", "J 1 2 3"}) {
        INFO(bad);
        CHECK(!parse_room_event(bad));
    }
}

TEST_CASE("routed messages: recipient, room, the message untouched", "[redis]") {
    auto text = routed_message_text(7, "room.1", "{\"from\":3,\n\"type\":\"x\"}");
    auto m = parse_routed_message(text);
    REQUIRE(m);
    CHECK(m->to == 7);
    CHECK(m->room == "room.1");
    CHECK(m->message == "{\"from\":3,\n\"type\":\"x\"}");
    auto default_room = parse_routed_message(routed_message_text(0, "", "{}"));
    REQUIRE(default_room);
    CHECK(default_room->room.empty());
    for (const char* bad : {"", "d", "d 7", "d 7 r", "d 7 r\n", "d x r\n{}", "d 7 a b\n{}", "d 7 a|b\n{}", "e 7 r\n{}",
                            "d 9007199254740992 r\n{}"}) {
        INFO(bad);
        CHECK(!parse_routed_message(bad));
    }
}

TEST_CASE("claims and their answers: what a resume on another node sends", "[redis]") {
    const std::string secret(32, 'a');
    const std::string text = "c 7 2 99 " + secret + " lobby";  // the claim's views point into it
    auto c = parse_claim(text);
    REQUIRE(c);
    CHECK(c->id == 7);
    CHECK(c->node == 2);
    CHECK(c->nonce == 99);
    CHECK(c->room == "lobby");
    CHECK(parse_claim("c 7 2 99 " + secret + " ")->room.empty());  // the default room
    for (std::string bad : {"c 7 2 99 " + secret, "c 7 0 99 " + secret + " r", "c 7 2 99 " + secret + "A r",
                            "c 7 2 99 " + std::string(32, 'g') + " r", "c 7 2 99 " + secret + " no/room"}) {
        INFO(bad);
        CHECK(!parse_claim(bad));
    }
    switchboard::redis::detail::ClaimAnswer a{5, true, R"({"name":"Ann"})", {"{\"from\":1}", "x\ny"}};
    auto back = parse_claim_answer(claim_answer_text(a));
    REQUIRE(back);
    CHECK(back->granted);
    CHECK(back->profile == R"({"name":"Ann"})");
    CHECK(back->kept == std::vector<std::string>{"{\"from\":1}", "x\ny"});
    auto no = parse_claim_answer("C 5 no");
    REQUIRE(no);
    CHECK(!no->granted);
    for (const char* bad : {"C 5", "C 5 ok 1\n{}\n", "C 5 ok 0\n[]\n", "C 5 ok 1\n{}\n3\nab", "C 5 ok 0\n{}\nextra"}) {
        INFO(bad);
        CHECK(!parse_claim_answer(bad));
    }
}

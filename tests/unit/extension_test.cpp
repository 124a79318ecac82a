// Extending the protocol: routable types (validator and typed), host-handled
// types (reply, fail, typed, throwing), registration rules and the
// unknown-type policy.
#include <stdexcept>
#include <string>
#include <vector>

#include "unit_helpers.hpp"

using namespace switchboard;
using namespace switchboard::test;
using nlohmann::json;

namespace ext {

/** A routable user type checked through from_json. */
struct FileOffer {
    std::string name;
    std::uint64_t size = 0;
};
void from_json(const json& j, FileOffer& m) {
    j.at("name").get_to(m.name);
    j.at("size").get_to(m.size);
    if (m.name.empty()) throw std::invalid_argument("`name` must not be empty");
}

/** A host-handled user type. */
struct Ping {
    int seq = 0;
};
void from_json(const json& j, Ping& m) {
    j.at("seq").get_to(m.seq);
}
struct Pong {
    int seq = 0;
    UserId for_user = 0;
};
void to_json(json& j, const Pong& m) {
    j = {{"type", "pong"}, {"seq", m.seq}, {"for", m.for_user}};
}

}  // namespace ext

TEST_CASE("a routable type with a validator is routed like peer-connect", "[extension][routable]") {
    Hub hub;
    std::vector<std::string> validated;
    hub.add_routable_type("chat", [&](const MessageView& m) -> std::optional<Error> {
        validated.emplace_back(m.text());
        auto text = m.string("text");
        if (!text) return Error{"bad-chat", "`text` must be a string"};
        if (text->size() > 10) return Error{"chat-too-long", "at most 10 characters"};
        return std::nullopt;
    });
    auto users = join_quietly(hub, 3);

    users[0].send(hub, R"({"type":"chat","to":2,"text":"hi","from":3,"extra":[1.0]})");
    CHECK(users[1].connection->texts().back() == R"({"from":1,"type":"chat","text":"hi","extra":[1.0]})");
    CHECK(take_one(users[1]).at("text") == "hi");
    CHECK(validated.size() == 1);

    auto e = error_for(hub, users[0], R"({"type":"chat","to":2,"text":5})");
    CHECK(e.at("code") == "bad-chat");
    CHECK(e.at("message") == "`text` must be a string");
    CHECK(e.at("request") == json::parse(R"({"type":"chat","to":2})"));

    CHECK(error_code(hub, users[0], R"({"type":"chat","to":2,"text":"far too long"})") == "chat-too-long");
    CHECK(error_code(hub, users[0], R"({"type":"chat","to":99,"text":"hi"})") == "unknown-recipient");
    CHECK(error_code(hub, users[0], R"({"type":"chat","text":"hi"})") == "invalid-message");
    CHECK(users[1].connection->take().empty());
    CHECK(users[2].connection->take().empty());
    CHECK(errors_counted(hub, "bad-chat") == 1);
    CHECK(errors_counted(hub, "chat-too-long") == 1);
}

TEST_CASE("a routable type without a validator needs only a valid to", "[extension][routable]") {
    Hub hub;
    hub.add_routable_type("anything");
    auto users = join_quietly(hub, 2);
    users[0].send(hub, R"({"type":"anything","to":2,"payload":{"deep":[null]}})");
    CHECK(take_one(users[1]) == json::parse(R"({"from":1,"type":"anything","payload":{"deep":[null]}})"));
    CHECK(error_code(hub, users[0], R"({"type":"anything","to":"2"})") == "invalid-message");
}

TEST_CASE("a validator that throws rejects the message as invalid", "[extension][routable]") {
    Hub hub;
    hub.add_routable_type("fragile",
                          [](const MessageView&) -> std::optional<Error> { throw std::runtime_error("no"); });
    auto users = join_quietly(hub, 2);
    auto e = error_for(hub, users[0], R"({"type":"fragile","to":2})");
    CHECK(e.at("code") == "invalid-message");
    CHECK(users[1].connection->take().empty());
}

TEST_CASE("add_routable_type<T> accepts what converts to T and passes it through raw", "[extension][routable]") {
    Hub hub;
    hub.add_routable_type<ext::FileOffer>("file-offer");
    auto users = join_quietly(hub, 2);
    users[0].send(hub, R"({"type":"file-offer","to":2,"name":"notes.txt","size":1200,"sha256":"9f86d0"})");
    CHECK(users[1].connection->texts().back() ==
          R"({"from":1,"type":"file-offer","name":"notes.txt","size":1200,"sha256":"9f86d0"})");

    for (const char* bad :
         {R"({"type":"file-offer","to":2,"name":"","size":1})",
          R"({"type":"file-offer","to":2,"name":"a","size":"big"})", R"({"type":"file-offer","to":2,"size":1})"}) {
        INFO(bad);
        auto e = error_for(hub, users[0], bad);
        CHECK(e.at("code") == "invalid-message");
        CHECK(e.at("request") == json::parse(R"({"type":"file-offer","to":2})"));
        auto message = e.at("message").get<std::string>();
        CHECK_FALSE(message.empty());
        CHECK(message.find("[json.exception") == std::string::npos);  // a sentence, not nlohmann's tag
    }
    CHECK(users[1].connection->take().size() == 1);
}

TEST_CASE("a host type's handler can reply to the sender only", "[extension][host]") {
    Hub hub;
    std::vector<std::pair<UserId, std::string>> seen;
    hub.add_host_type("whoami", [&](const Request& r) {
        seen.emplace_back(r.from(), r.room());
        CHECK(r.message().at("type") == "whoami");
        CHECK(r.message().at("note") == "n");
        r.reply({{"type", "you-are"}, {"id", r.from()}, {"room", r.room()}});
    });
    auto users = join_quietly(hub, 2, "/room/r");
    users[1].send(hub, R"({"type":"whoami","note":"n","to":1})");
    CHECK(take_one(users[1]) == json::parse(R"({"type":"you-are","id":2,"room":"r"})"));
    CHECK(users[0].connection->take().empty());
    REQUIRE(seen.size() == 1);
    CHECK(seen[0] == std::make_pair(UserId{2}, std::string("r")));
    auto c = hub.counters();
    CHECK(c.messages_handled == 1);
    CHECK(c.messages_routed == 0);
}

TEST_CASE("a host type's handler can answer with an error of its own", "[extension][host]") {
    Hub hub;
    hub.add_host_type("quota", [](const Request& r) { r.fail("over-quota", "you asked too often"); });
    auto users = join_quietly(hub, 1);
    auto e = error_for(hub, users[0], R"({"type":"quota"})");
    CHECK(e.at("code") == "over-quota");
    CHECK(e.at("message") == "you asked too often");
    CHECK(e.at("request").at("type") == "quota");
    CHECK(errors_counted(hub, "over-quota") == 1);
}

TEST_CASE("an error message that is not valid UTF-8 is still delivered", "[extension][host]") {
    Hub hub;
    hub.add_host_type("quota", [](const Request& r) { r.fail("over-quota", "bad byte \xFF here"); });
    auto users = join_quietly(hub, 1);
    auto e = error_for(hub, users[0], R"({"type":"quota"})");
    CHECK(e.at("code") == "over-quota");
    CHECK(e.at("message").get<std::string>().find("here") != std::string::npos);
}

TEST_CASE("a handler may stay silent, reply several times, or call back into the hub", "[extension][host]") {
    Hub hub;
    std::vector<TestUser>* everyone = nullptr;
    hub.add_host_type("silent", [](const Request&) {});
    hub.add_host_type("twice", [](const Request& r) {
        r.reply({{"type", "one"}});
        r.reply({{"type", "two"}});
    });
    hub.add_host_type("relay", [&](const Request& r) {
        // The hub holds no lock while a handler runs, so it may route.
        hub.receive(*(*everyone)[1].session, peer_connect(r.from()));
    });
    auto users = join_quietly(hub, 2);
    everyone = &users;
    users[0].send(hub, R"({"type":"silent"})");
    CHECK(users[0].connection->take().empty());
    users[0].send(hub, R"({"type":"twice"})");
    auto got = users[0].connection->take();
    REQUIRE(got.size() == 2);
    CHECK(got[0].at("type") == "one");
    CHECK(got[1].at("type") == "two");
    users[0].send(hub, R"({"type":"relay"})");
    CHECK(take_one(users[0]).at("from") == 2);
    CHECK(hub.counters().messages_handled == 3);
}

TEST_CASE("add_host_type<T> hands the typed message to the handler", "[extension][host]") {
    Hub hub;
    hub.add_host_type<ext::Ping>("ping", [](const Request& r, const ext::Ping& ping) {
        r.reply(ext::Pong{ping.seq + 1, r.from()});
    });
    auto users = join_quietly(hub, 1);
    users[0].send(hub, R"({"type":"ping","seq":41})");
    CHECK(take_one(users[0]) == json::parse(R"({"type":"pong","seq":42,"for":1})"));

    auto e = error_for(hub, users[0], R"({"type":"ping","seq":"x"})");
    CHECK(e.at("code") == "invalid-message");
    CHECK(e.at("request").at("type") == "ping");
    CHECK(error_code(hub, users[0], R"({"type":"ping"})") == "invalid-message");
}

TEST_CASE("a handler that throws answers internal-error and logs it", "[extension][host]") {
    std::vector<std::string> errors;
    Options options;
    options.log_level = LogLevel::error;
    options.log_sink = [&](LogLevel level, std::string_view line) {
        if (level == LogLevel::error) errors.emplace_back(line);
    };
    Hub hub(options);
    hub.add_host_type("explode", [](const Request&) { throw std::logic_error("the disk is on fire"); });
    auto users = join_quietly(hub, 1);
    auto e = error_for(hub, users[0], R"({"type":"explode"})");
    CHECK(e.at("code") == "internal-error");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("the disk is on fire") != std::string::npos);
    CHECK(hub.counters().messages_handled == 0);
    CHECK(errors_counted(hub, "internal-error") == 1);
    // Still usable.
    users[0].send(hub, peer_connect(1));
    CHECK(take_one(users[0]).at("type") == "peer-connect");
}

TEST_CASE("a client's out-of-range number is a client error for a host type", "[extension][host]") {
    // 1e400 is valid JSON grammar, but nlohmann refuses it (it overflows a
    // double). That is the client's fault, not the server's.
    Hub hub;
    hub.add_host_type("ping", [](const Request& r) { r.reply({{"type", "pong"}}); });
    auto users = join_quietly(hub, 1);
    auto code = error_code(hub, users[0], R"({"type":"ping","n":1e400})");
    CHECK(code != "internal-error");
    CHECK((code == "invalid-json" || code == "invalid-message"));
}

TEST_CASE("errors about a host type echo its to, like every other error", "[extension][host]") {
    // protocol.md: `request` carries the offending message's type and to,
    // each when known. Request::fail and the internal-error path pass only
    // the type.
    Hub hub;
    hub.add_host_type("quota", [](const Request& r) { r.fail("over-quota", "no"); });
    hub.add_host_type("boom", [](const Request&) { throw std::runtime_error("x"); });
    auto users = join_quietly(hub, 2);
    CHECK(error_for(hub, users[0], R"({"type":"quota","to":2})").at("request") ==
          json::parse(R"({"type":"quota","to":2})"));
    CHECK(error_for(hub, users[0], R"({"type":"boom","to":2})").at("request") ==
          json::parse(R"({"type":"boom","to":2})"));
}

TEST_CASE("registering a type twice is an error", "[extension][registration]") {
    Hub hub;
    hub.add_routable_type("chat");
    CHECK_THROWS_AS(hub.add_routable_type("chat"), std::logic_error);
    CHECK_THROWS_AS(hub.add_host_type("chat", [](const Request&) {}), std::logic_error);
    hub.add_host_type("ping", [](const Request&) {});
    CHECK_THROWS_AS(hub.add_routable_type("ping"), std::logic_error);
    CHECK_THROWS_AS(hub.add_host_type<ext::Ping>("ping", [](const Request&, const ext::Ping&) {}), std::logic_error);
    // The built-ins are registered through the same API.
    for (const char* builtin : {"peer-connect", "peer-response", "peer-candidate"}) {
        INFO(builtin);
        CHECK_THROWS_AS(hub.add_routable_type(builtin), std::logic_error);
        CHECK_THROWS_AS(hub.add_routable_type<ext::FileOffer>(builtin), std::logic_error);
    }
    // The first registration stays in force.
    auto users = join_quietly(hub, 2);
    users[0].send(hub, R"({"type":"chat","to":2})");
    CHECK(take_one(users[1]).at("type") == "chat");
}

TEST_CASE("server-only names cannot be registered", "[extension][registration]") {
    Hub hub;
    for (const char* reserved : {"login", "user-joined", "user-left", "error"}) {
        INFO(reserved);
        CHECK_THROWS_AS(hub.add_routable_type(reserved), std::logic_error);
        CHECK_THROWS_AS(hub.add_host_type(reserved, [](const Request&) {}), std::logic_error);
    }
}

TEST_CASE("types must be registered before the hub starts", "[extension][registration]") {
    SECTION("after admit") {
        Hub hub;
        (void)hub.admit(at_path("/"));
        CHECK_THROWS_AS(hub.add_routable_type("late"), std::logic_error);
        CHECK_THROWS_AS(hub.add_host_type("late", [](const Request&) {}), std::logic_error);
    }
    SECTION("after a refused admit") {
        Hub hub;
        CHECK_FALSE(hub.admit(at_path("/nope")));
        CHECK_THROWS_AS(hub.add_routable_type("late"), std::logic_error);
    }
    SECTION("after a local participant joined") {
        Hub hub;
        auto host = hub.join_local("", [](const json&) {});
        CHECK_THROWS_AS(hub.add_routable_type("late"), std::logic_error);
    }
}

TEST_CASE("a type needs a name and a host type a handler", "[extension][registration]") {
    Hub hub;
    CHECK_THROWS_AS(hub.add_routable_type(""), std::invalid_argument);
    CHECK_THROWS_AS(hub.add_host_type("h", HostHandler{}), std::invalid_argument);
    // The failed registration did not take the name.
    CHECK_NOTHROW(hub.add_host_type("h", [](const Request&) {}));
}

TEST_CASE("the route policy routes unregistered types by to, unchecked", "[extension][policy]") {
    Options options;
    options.unknown_types = UnknownTypePolicy::route;
    Hub hub(options);
    auto users = join_quietly(hub, 2);
    users[0].send(hub, R"({"type":"whatever","to":2,"from":7,"x":1.50e+10})");
    CHECK(users[1].connection->texts().back() == R"({"from":1,"type":"whatever","x":1.50e+10})");
    users[1].connection->take();

    auto e = error_for(hub, users[0], R"({"type":"whatever"})");
    CHECK(e.at("code") == "invalid-message");
    CHECK(e.at("request") == json::parse(R"({"type":"whatever"})"));
    CHECK(error_code(hub, users[0], R"({"type":"whatever","to":9})") == "unknown-recipient");
    // Registered types are still validated.
    CHECK(error_code(hub, users[0], R"({"type":"peer-connect","to":2})") == "invalid-message");
    // A message still needs a string type.
    CHECK(error_code(hub, users[0], R"({"to":2})") == "invalid-message");
    CHECK(users[1].connection->take().empty());
    CHECK(hub.counters().messages_routed == 1);
}

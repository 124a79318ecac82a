// What the host application can observe: join/leave hooks, the counters
// snapshot and the log sink.
#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "unit_helpers.hpp"

using namespace switchboard;
using namespace switchboard::test;
using nlohmann::json;

namespace {

struct LogLine {
    LogLevel level;
    std::string text;
};

/** Options whose sink records every line at or above `level`. */
Options logging_to(std::vector<LogLine>& lines, LogLevel level) {
    Options options;
    options.log_level = level;
    options.log_sink = [&lines](LogLevel l, std::string_view text) { lines.push_back({l, std::string(text)}); };
    return options;
}

bool logged(const std::vector<LogLine>& lines, std::string_view fragment) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const LogLine& l) { return l.text.find(fragment) != std::string::npos; });
}

/** Exercises joins, a refusal, an error and a leave. */
void some_traffic(Hub& hub) {
    (void)hub.admit(at_path("/nowhere"));
    auto a = join(hub, "/", "127.0.0.1");
    auto b = join(hub, "/room/lobby");
    a.send(hub, "not json");
    hub.leave(*a.session);
    hub.leave(*b.session);
}

}  // namespace

TEST_CASE("on_join runs after the login was sent, with the user's details", "[hooks]") {
    Hub hub;
    std::vector<UserEvent> joins;
    std::vector<std::size_t> sent_before_hook;
    std::shared_ptr<MemoryConnection> current;
    hub.on_join([&](const UserEvent& e) {
        joins.push_back(e);
        sent_before_hook.push_back(current->count());
    });
    current = std::make_shared<MemoryConnection>();
    Handshake h = at_path("/room/lobby");
    h.remote_address = "198.51.100.1";
    auto session = hub.open(hub.admit(h), current);
    REQUIRE(joins.size() == 1);
    CHECK(joins[0].id == session->id());
    CHECK(joins[0].room == "lobby");
    CHECK(joins[0].remote_address == "198.51.100.1");
    CHECK(sent_before_hook[0] == 1);

    SECTION("not for a refused admission or a refused open") {
        Options options;
        options.limits.max_users_per_room = 1;
        Hub small(options);
        int calls = 0;
        small.on_join([&](const UserEvent&) { ++calls; });
        (void)small.admit(at_path("/bad"));
        CHECK(join(small).session);
        CHECK_FALSE(join(small).session);
        CHECK(calls == 1);
    }
}

TEST_CASE("on_leave runs once, after the others were told", "[hooks]") {
    Hub hub;
    auto users = join_quietly(hub, 2, "/room/r");
    std::vector<UserEvent> leaves;
    std::size_t other_had = 0;
    hub.on_leave([&](const UserEvent& e) {
        leaves.push_back(e);
        other_had = users[1].connection->count();
    });
    auto before = users[1].connection->count();
    hub.leave(*users[0].session);
    hub.leave(*users[0].session);
    REQUIRE(leaves.size() == 1);
    CHECK(leaves[0].id == users[0].id());
    CHECK(leaves[0].room == "r");
    CHECK(leaves[0].remote_address.rfind("client-", 0) == 0);  // the address it joined from
    CHECK(other_had == before + 1);
}

TEST_CASE("hooks may call back into the hub", "[hooks]") {
    Hub hub;
    std::vector<TestUser> users;
    // The host greets every newcomer in the name of the first user.
    hub.on_join([&](const UserEvent& e) {
        if (!users.empty() && e.id != users[0].id()) hub.receive(*users[0].session, peer_connect(e.id));
    });
    hub.on_leave([&](const UserEvent&) { (void)hub.counters(); });
    users.push_back(join(hub));
    users.push_back(join(hub));
    auto got = users[1].connection->messages();
    REQUIRE(got.size() == 2);
    CHECK(got[0].at("type") == "login");
    CHECK(got[1].at("from") == users[0].id());
    hub.leave(*users[1].session);
    CHECK(hub.counters().connections_open == 1);
}

TEST_CASE("a throwing on_join hook leaves no ghost user behind", "[hooks]") {
    // If open() does not hand out the session, nobody can ever leave() it:
    // the user would stay in its room (seen by everyone, counted as open) for
    // the life of the process.
    Hub hub;
    hub.on_join([](const UserEvent&) { throw std::runtime_error("hook failed"); });
    auto witness = std::make_shared<MemoryConnection>();
    std::shared_ptr<Session> session;
    try {
        session = hub.open(hub.admit(at_path("/")), witness);
    } catch (const std::exception&) {
    }
    if (session) {
        hub.leave(*session);
    }
    CHECK(hub.counters().connections_open == 0);
    CHECK(hub.counters().rooms_open == 0);
}

TEST_CASE("counters follow connections, rooms, messages and errors", "[counters]") {
    Options options;
    options.limits.max_users_per_room = 2;
    Hub hub(options);
    hub.add_host_type("ping", [](const Request& r) { r.reply({{"type", "pong"}}); });
    CHECK(hub.counters().connections_open == 0);
    CHECK(hub.counters().errors.empty());

    (void)hub.admit(at_path("/bad"));
    auto a = join(hub);
    auto b = join(hub);
    auto full = join(hub);
    auto c = join(hub, "/room/x");
    REQUIRE_FALSE(full.session);

    auto n = hub.counters();
    CHECK(n.connections_open == 3);
    CHECK(n.connections_total == 3);
    CHECK(n.connections_refused == 2);
    CHECK(n.rooms_open == 2);

    auto text = peer_connect(b.id());
    a.send(hub, text);
    a.send(hub, text);
    b.send(hub, R"({"type":"ping"})");
    b.send(hub, peer_connect(c.id()));
    a.send(hub, "{");
    n = hub.counters();
    CHECK(n.messages_received == 5);
    CHECK(n.messages_routed == 2);
    CHECK(n.messages_handled == 1);
    CHECK(n.bytes_routed == 2 * b.connection->texts().at(2).size());
    CHECK(n.errors ==
          std::map<std::string, std::uint64_t>{{"room-full", 1}, {"unknown-recipient", 1}, {"invalid-json", 1}});

    hub.leave(*a.session);
    hub.leave(*c.session);
    n = hub.counters();
    CHECK(n.connections_open == 1);
    CHECK(n.connections_total == 3);
    CHECK(n.rooms_open == 1);
    hub.leave(*b.session);
    CHECK(hub.counters().connections_open == 0);
    CHECK(hub.counters().rooms_open == 0);
}

TEST_CASE("count_transport_close counts by reason", "[counters]") {
    Hub hub;
    hub.count_transport_close("slow-reader");
    hub.count_transport_close("slow-reader");
    hub.count_transport_close("frame-too-large");
    auto c = hub.counters();
    CHECK(c.transport_closes == std::map<std::string, std::uint64_t>{{"slow-reader", 2}, {"frame-too-large", 1}});
    CHECK(c.errors.empty());
}

TEST_CASE("the log sink gets formatted lines at and above its level", "[logging]") {
    SECTION("info") {
        std::vector<LogLine> lines;
        Hub hub(logging_to(lines, LogLevel::info));
        some_traffic(hub);
        CHECK(logged(lines, "user 1 joined the default room from 127.0.0.1"));
        CHECK(logged(lines, "user 2 joined room 'lobby'"));
        CHECK(logged(lines, "user 1 left the default room"));
        CHECK(logged(lines, "refused a connection"));
        CHECK(logged(lines, "/nowhere"));
        CHECK_FALSE(logged(lines, "invalid-json"));  // client mistakes are debug
        for (auto& l : lines)
            CHECK(l.level >= LogLevel::info);
        for (auto& l : lines)
            CHECK(l.text.find("{}") == std::string::npos);
    }
    SECTION("debug adds client errors") {
        std::vector<LogLine> lines;
        Hub hub(logging_to(lines, LogLevel::debug));
        some_traffic(hub);
        CHECK(logged(lines, "user 1: invalid-json"));
        CHECK(logged(lines, "joined"));
    }
    SECTION("warn drops info lines") {
        std::vector<LogLine> lines;
        Hub hub(logging_to(lines, LogLevel::warn));
        some_traffic(hub);
        CHECK(lines.empty());
    }
    SECTION("error keeps handler failures") {
        std::vector<LogLine> lines;
        Hub hub(logging_to(lines, LogLevel::error));
        hub.add_host_type("boom", [](const Request&) { throw std::runtime_error("exploded"); });
        some_traffic(hub);
        auto u = join(hub);
        u.send(hub, R"({"type":"boom"})");
        REQUIRE(lines.size() == 1);
        CHECK(lines[0].level == LogLevel::error);
        CHECK(lines[0].text.find("boom") != std::string::npos);
        CHECK(lines[0].text.find("exploded") != std::string::npos);
    }
}

TEST_CASE("a log level of off silences the sink entirely", "[logging]") {
    std::vector<LogLine> lines;
    Hub hub(logging_to(lines, LogLevel::off));
    hub.add_host_type("boom", [](const Request&) { throw std::runtime_error("exploded"); });
    some_traffic(hub);
    auto u = join(hub);
    u.send(hub, R"({"type":"boom"})");
    CHECK(lines.empty());
}

TEST_CASE("no sink is fine at any level", "[logging]") {
    Options options;
    options.log_level = LogLevel::trace;
    Hub hub(options);
    CHECK_NOTHROW(some_traffic(hub));
}

TEST_CASE("log levels have names that parse back", "[logging]") {
    for (auto level :
         {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error, LogLevel::off}) {
        LogLevel parsed = level == LogLevel::off ? LogLevel::trace : LogLevel::off;
        CHECK(parse_log_level(to_string(level), parsed));
        CHECK(parsed == level);
    }
    CHECK(to_string(LogLevel::warn) == "warn");
    LogLevel unchanged = LogLevel::debug;
    CHECK_FALSE(parse_log_level("verbose", unchanged));
    CHECK_FALSE(parse_log_level("INFO", unchanged));
    CHECK_FALSE(parse_log_level("", unchanged));
    CHECK(unchanged == LogLevel::debug);
}

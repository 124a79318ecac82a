// Switchboard: the conformance kit as Catch2 test cases, one per clause.
//
// Header-only, for Catch2 2.x and 3.x (whichever <catch2/...> header is on
// the include path); link switchboard::testing and your Catch2 main as usual.
//
// Write a small class that starts and stops your adapter the way a `Target`
// does (see conformance.hpp): default-constructible, one instance per clause.
//
//   #include <switchboard/testing/catch2.hpp>
//
//   struct MyServer {
//       // Serve `hub` on 127.0.0.1 at a free port with `settings`; return the port.
//       std::uint16_t start(switchboard::Hub& hub, const switchboard::testing::TransportSettings& settings);
//       // Graceful shutdown; returns once stopped.
//       void stop();
//   };
//
//   SWITCHBOARD_CONFORMANCE_TEST_CASES(MyServer, "my adapter: ", "[my-adapter]")
//
// This registers one test case per clause, named prefix + clause name
// ("my adapter: login", "my adapter: routing", ...), so CMake's
// catch_discover_tests() makes one ctest entry per clause, and a guard test
// case, prefix + "every clause of the kit has a test case", that fails when
// the kit has a clause this header does not list (so none goes untested).
// Each clause test case shows the kit's report (INFO) and CHECKs that it
// passed. The prefix and tags must be string literals.
//
// For a layout of your own, call check_clause(target, "slow-consumer") (or
// check_clause<MyServer>("slow-consumer")) inside any TEST_CASE.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#if __has_include(<catch2/catch_test_macros.hpp>)
#include <catch2/catch_test_macros.hpp>
#else
#include <catch2/catch.hpp>
#endif

#include <switchboard/hub.hpp>
#include <switchboard/testing/conformance.hpp>

/**
 * The kit's clauses, in the order they run: X(name, ...) for each, with the
 * extra arguments passed on. Kept equal to clause_names() by the guard test
 * case of SWITCHBOARD_CONFORMANCE_TEST_CASES.
 */
#define SWITCHBOARD_CONFORMANCE_CLAUSES(X, ...) \
    X("login", __VA_ARGS__)                     \
    X("routing", __VA_ARGS__)                   \
    X("pass-through", __VA_ARGS__)              \
    X("presence", __VA_ARGS__)                  \
    X("errors", __VA_ARGS__)                    \
    X("rate-limited", __VA_ARGS__)              \
    X("room-full", __VA_ARGS__)                 \
    X("too-many-rooms", __VA_ARGS__)            \
    X("handshake-refusals", __VA_ARGS__)        \
    X("rooms-isolation", __VA_ARGS__)           \
    X("oversized-message", __VA_ARGS__)         \
    X("binary-frame", __VA_ARGS__)              \
    X("slow-consumer", __VA_ARGS__)             \
    X("busy-recipient", __VA_ARGS__)            \
    X("burst-to-reader", __VA_ARGS__)           \
    X("ping-flood", __VA_ARGS__)                \
    X("close-while-blocked", __VA_ARGS__)       \
    X("bad-upgrades", __VA_ARGS__)              \
    X("dead-peer", __VA_ARGS__)                 \
    X("lost-connection", __VA_ARGS__)           \
    X("concurrent-connects", __VA_ARGS__)       \
    X("clean-shutdown", __VA_ARGS__)            \
    X("cross-thread-sends", __VA_ARGS__)        \
    X("burst-order", __VA_ARGS__)               \
    X("handshake-timeout", __VA_ARGS__)         \
    X("shutdown-bound", __VA_ARGS__)

/** One test case per clause against a fresh `Server` each, plus the guard (see above). */
#define SWITCHBOARD_CONFORMANCE_TEST_CASES(Server, prefix, tags) \
    SWITCHBOARD_CONFORMANCE_TEST_CASES_WITH(Server, prefix, tags, ::switchboard::testing::KitOptions{})

/**
 * The same, with `options` (an expression giving KitOptions, evaluated for
 * each clause), e.g. KitOptions::hub_options to run every clause on a
 * clustered hub.
 */
#define SWITCHBOARD_CONFORMANCE_TEST_CASES_WITH(Server, prefix, tags, options)                             \
    SWITCHBOARD_CONFORMANCE_CLAUSES(SWITCHBOARD_DETAIL_CLAUSE_TEST_CASE, Server, prefix, tags, options)    \
    TEST_CASE(prefix "every clause of the kit has a test case", tags) {                                    \
        CHECK(::switchboard::testing::clause_names() == ::switchboard::testing::detail::listed_clauses()); \
    }

#define SWITCHBOARD_DETAIL_CLAUSE_TEST_CASE(name, Server, prefix, tags, options) \
    TEST_CASE(prefix name, tags) {                                               \
        ::switchboard::testing::check_clause<Server>(name, options);             \
    }

#define SWITCHBOARD_DETAIL_CLAUSE_NAME(name, ...) std::string(name),

namespace switchboard::testing {

/** Runs the one clause `clause` against `target`: the report as INFO, then CHECK that it passed. */
inline void check_clause(const Target& target, const std::string& clause, KitOptions options = {}) {
    options.only = {clause};
    auto report = run_conformance(target, options);
    INFO(report.text());
    CHECK(report.passed());
}

/** The same against a fresh `Server` (start(hub, settings) -> port, stop()), destroyed afterwards. */
template <class Server>
void check_clause(const std::string& clause, KitOptions options = {}) {
    Server server;
    Target target;
    target.start = [&](Hub& hub, const TransportSettings& settings) -> std::uint16_t {
        return server.start(hub, settings);
    };
    target.stop = [&] { server.stop(); };
    check_clause(target, clause, std::move(options));
}

namespace detail {

/** The clauses SWITCHBOARD_CONFORMANCE_CLAUSES lists. */
inline std::vector<std::string> listed_clauses() {
    return {SWITCHBOARD_CONFORMANCE_CLAUSES(SWITCHBOARD_DETAIL_CLAUSE_NAME, _)};
}

}  // namespace detail
}  // namespace switchboard::testing

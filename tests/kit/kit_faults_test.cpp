// The conformance kit's own tests: each clause added for a fault fails
// against an adapter with that fault, and passes against the same adapter
// without it (so it fails for the fault, not for something else).
#include <algorithm>
#include <string>
#include <vector>

#include <switchboard/testing/conformance.hpp>

#include "catch.hpp"
#include "faulty_adapter.hpp"

using switchboard::test::Faults;
using switchboard::test::FaultyAdapter;
namespace testing = switchboard::testing;

namespace {

testing::Report run(Faults faults, std::vector<std::string> clauses) {
    FaultyAdapter adapter(faults);
    testing::Target target;
    target.start = [&](switchboard::Hub& hub, const testing::TransportSettings& settings) {
        return adapter.start(hub, settings);
    };
    target.stop = [&] { adapter.stop(); };
    testing::KitOptions options;
    options.only = std::move(clauses);
    return testing::run_conformance(target, options);
}

/** The one clause failed, and its explanation mentions one of `whats`. */
void check_fails(const testing::Report& report, std::vector<std::string> whats) {
    INFO(report.text());
    REQUIRE(report.clauses.size() == 1);
    CHECK_FALSE(report.clauses[0].passed);
    CHECK(std::any_of(whats.begin(), whats.end(),
                      [&](auto& what) { return report.clauses[0].failure.find(what) != std::string::npos; }));
}

}  // namespace

TEST_CASE("without faults, the faulty adapter passes the clauses written for its faults", "[kit]") {
    auto report =
        run({}, {"login", "routing", "cross-thread-sends", "burst-order", "handshake-timeout", "shutdown-bound"});
    INFO(report.text());
    CHECK(report.passed());
}

TEST_CASE("cross-thread-sends fails against an adapter that writes from the callers' threads unlocked", "[kit]") {
    Faults faults;
    faults.unlocked_writes = true;
    // Torn frames: the client sees a broken frame, or a text that is not a message, or a message out of place.
    check_fails(run(faults, {"cross-thread-sends"}), {"broke RFC 6455", "torn", "next"});
}

TEST_CASE("burst-order fails against an adapter that sends a burst newest first", "[kit]") {
    Faults faults;
    faults.reversed_bursts = true;
    check_fails(run(faults, {"burst-order"}), {"next (a burst arrives in order)", "in the order it sent them"});
}

TEST_CASE("handshake-timeout fails against an adapter that waits for the request forever", "[kit]") {
    Faults faults;
    faults.no_handshake_timeout = true;
    check_fails(run(faults, {"handshake-timeout"}), {"half an upgrade request"});
}

TEST_CASE("shutdown-bound fails against an adapter whose stop() outwaits clients that never answer", "[kit]") {
    Faults faults;
    faults.slow_stop = true;
    check_fails(run(faults, {"shutdown-bound"}), {"Target::stop took"});
}

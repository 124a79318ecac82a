// The conformance kit against the Beast adapter's Server: one test per clause.
#include <switchboard/testing/catch2.hpp>

#include "beast_server.hpp"
#include "catch.hpp"

using switchboard::test::BeastServer;

SWITCHBOARD_CONFORMANCE_TEST_CASES(BeastServer, "beast conformance: ", "[beast]")

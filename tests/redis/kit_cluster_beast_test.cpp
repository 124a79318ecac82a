// The conformance kit on the Beast adapter, every clause's hub in a cluster.
#include <switchboard/testing/catch2.hpp>

#include "beast_server.hpp"
#include "catch.hpp"
#include "support/clustered_kit.hpp"

using switchboard::test::BeastServer;
using switchboard::test::clustered;

SWITCHBOARD_CONFORMANCE_TEST_CASES_WITH(BeastServer, "kit beast: ", "[cluster]", clustered())

// The conformance kit on the websocketpp adapter, every clause's hub in a cluster.
#include <switchboard/testing/catch2.hpp>

#include "catch.hpp"
#include "support/clustered_kit.hpp"
#include "websocketpp_server.hpp"

using switchboard::test::clustered;
using switchboard::test::WebsocketppServer;

SWITCHBOARD_CONFORMANCE_TEST_CASES_WITH(WebsocketppServer, "kit websocketpp: ", "[cluster]", clustered())

// The conformance kit against the websocketpp adapter: one test per clause.
#include <switchboard/testing/catch2.hpp>

#include "catch.hpp"
#include "websocketpp_server.hpp"

using switchboard::test::WebsocketppServer;

SWITCHBOARD_CONFORMANCE_TEST_CASES(WebsocketppServer, "conformance: ", "[websocketpp]")

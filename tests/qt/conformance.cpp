// The conformance kit against the Qt adapter: one test per clause. The
// adapter runs on a QThread of its own (see qt_server.hpp).
#include <switchboard/testing/catch2.hpp>

#include "catch.hpp"
#include "qt_server.hpp"

using switchboard::test::QtServer;

SWITCHBOARD_CONFORMANCE_TEST_CASES(QtServer, "conformance: ", "[qt]")

// Switchboard: the adapter conformance kit (target switchboard::testing).
//
// An adapter is the code that puts a Hub on a socket layer (docs/adapters.md).
// This kit checks a running adapter from the outside, over real WebSocket
// connections on 127.0.0.1, against the whole contract of docs/protocol.md:
//
//   login                 every connection first gets `login`; IDs are distinct
//                         and never reused; `users` lists the room, ascending
//   routing               peer-connect/-response/-candidate reach `to`, with
//                         `to` removed and `from` set by the server (a forged
//                         `from` is replaced)
//   pass-through          unknown members reach the recipient, their values
//                         byte for byte (whitespace between members is not kept)
//   presence              user-joined / user-left reach the others
//   errors                every error code the hub sends over the wire
//                         (invalid-json, invalid-message, unknown-type,
//                         unknown-recipient, message-too-large, forbidden),
//                         and the connection stays usable after each
//   rate-limited          a client over its rate gets `rate-limited`
//   room-full             the next user gets `room-full`, then close 1013
//   too-many-rooms        same with too-many-rooms
//   handshake-refusals    HTTP 404 for an unknown path, 403 for a foreign
//                         Origin and for a denied authorize hook (reason as body)
//   rooms-isolation       users see and reach only their own room
//   oversized-message     a message over the transport's limit: close 1009
//   binary-frame          a binary frame: close 1003
//   slow-consumer         a client that stops reading is closed (1008) once
//                         the server's own messages (here: the errors it
//                         earns) overflow its outgoing queue; others carry on
//   busy-recipient        messages routed to a client that stopped reading
//                         are refused with `recipient-busy` once its queue
//                         holds its share; it is not closed for them
//   burst-to-reader       the largest burst the hub's rate limit allows, at a
//                         client that reads, never gets it closed: what it
//                         cannot take is refused with `recipient-busy`, the
//                         rest arrives in order
//   ping-flood            a client that floods pings and never reads gets a
//                         bounded number of pongs (coalesced), or is closed
//                         as slow (1008)
//   close-while-blocked   a client whose socket is full sends a close frame:
//                         it leaves the room within the closing-handshake
//                         timeout, and the TCP connection ends
//   bad-upgrades          an upgrade whose Sec-WebSocket-Key is not 16 bytes
//                         in base64, or without Host, gets HTTP 400
//   dead-peer             a client that stops answering pings is dropped and
//                         the others get `user-left` (after the resume
//                         window: it is a lost connection); live clients stay
//   lost-connection       a TCP connection dropped without a close frame is
//                         reported as Departure::lost: the others hear nothing,
//                         a handshake with its `resume` token gets the same ID
//                         and what was routed meanwhile; past the window it leaves
//   concurrent-connects   many clients connecting at once all get distinct IDs
//   clean-shutdown        stop() closes every client with 1001 and stops listening
//   cross-thread-sends    Connection::send and close called from several
//                         threads at once (Hub::send_to, Hub::disconnect from
//                         threads that are not the adapter's): every message
//                         arrives whole, each thread's in the order it sent
//                         them, and the close arrives after them
//   burst-order           400 messages queued at once by the server, and 400
//                         written back to back by a client, arrive in order
//   handshake-timeout     a client that sends half an upgrade request and
//                         then nothing is dropped within handshake_timeout
//                         (plus 1.5 s), without joining the hub
//   shutdown-bound        with clients that never answer the close frame,
//                         stop() returns within close_timeout + 1 s
//
// Where an adapter closes a connection for a transport reason, the kit also
// checks that it counted it with `Hub::count_transport_close` under the
// name the bundled adapters use ("message-too-big", "binary-frame",
// "slow-consumer", "keepalive-timeout"), so that metrics read the same
// whichever adapter runs.
//
// How it drives your adapter: for every clause the kit creates a fresh Hub
// (with the limits and hooks that clause needs), calls your `start` with it
// and with the transport settings the clause needs, connects its clients to
// the port you return, and finally calls your `stop`. `TransportSettings`
// is the shared TransportOptions (what the bundled adapters take) plus a
// message-count bound: pass it on, or map it onto your adapter's options.
//
// Threads: `start` and `stop` are called on the thread that called
// run_conformance, never concurrently. The kit's clients run on a thread of
// their own; some clauses call Hub::send_to and Hub::disconnect from
// further threads, as a host would. A whole run takes some seconds; every
// wait is bounded by `KitOptions::timeout` (plus the keep-alive and
// handshake times a clause configures), so a broken adapter fails a clause
// instead of hanging it.
//
// Event-loop frameworks (Qt, libuv, GLib): the thread that calls `start`
// and `stop` has no event loop of yours. Run your loop on a thread of its
// own for the whole test (e.g. a std::thread that creates the
// QCoreApplication, or a QThread), and make `start` and `stop` hand their
// work to that loop and wait for it: post a function to the loop
// (QMetaObject::invokeMethod with Qt::BlockingQueuedConnection, uv_async_send
// and a std::promise), and return the port or come back when stopped. The
// Hub is thread-safe, so nothing else needs marshalling; tests/qt/ does this.
//
// Dependencies: the kit's clients are its own, on POSIX sockets. It needs
// the core and the C++ standard library only, whatever your adapter uses.
//
// **Example** (a Catch2 test for an adapter `my::Adapter` running `my::Server`):
//
//   #include <switchboard/testing/conformance.hpp>
//
//   TEST_CASE("my adapter passes the Switchboard conformance kit") {
//       std::unique_ptr<my::Server> server;
//       switchboard::testing::Target target;
//       target.start = [&](switchboard::Hub& hub, const switchboard::testing::TransportSettings& t) {
//           my::Options o;
//           o.max_queued_bytes = t.queue_max_bytes;
//           o.max_message = t.read_message_max;
//           o.ping_after = t.idle_timeout / 2;
//           server = std::make_unique<my::Server>(hub, "127.0.0.1", 0, o);   // 0: any free port
//           server->start_in_background();
//           return server->port();
//       };
//       target.stop = [&] { server->shutdown(1001); server.reset(); };     // returns when stopped
//       auto report = switchboard::testing::run_conformance(target);
//       INFO(report.text());
//       CHECK(report.passed());
//   }
//
// For one Catch2 test case per clause (one ctest entry each), see
// <switchboard/testing/catch2.hpp>.
//
// Or from a plain main(): `return switchboard::testing::run_conformance_main(target, argc, argv);`
// (prints the report; `--only NAME` runs one clause, `--timeout-ms N` changes the wait,
// `--verbose` logs the hub to stderr; exit code 0 when all pass).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include <switchboard/hub.hpp>
#include <switchboard/options.hpp>
#include <switchboard/transport.hpp>

namespace switchboard::testing {

/**
 * Transport settings a clause needs: the shared TransportOptions
 * (transport.hpp; the bundled adapters take them as they are), with
 * smaller defaults so that clauses run quickly, plus a message-count bound
 * for adapters that count messages.
 */
struct TransportSettings : switchboard::TransportOptions {
    TransportSettings() {
        queue_max_bytes = 1024 * 1024;
        handshake_timeout = std::chrono::milliseconds(2'000);
        close_timeout = std::chrono::milliseconds(1'000);
        idle_timeout = std::chrono::milliseconds(30'000);
    }
    /** The queue bound in messages, if your adapter counts messages; ignore it otherwise. */
    std::size_t queue_max_messages = 1024;
};

/** Your adapter, as the kit drives it. */
struct Target {
    /**
     * Start serving `hub` on 127.0.0.1 at a free port, configured with
     * `settings`, and return that port once it accepts connections. The hub
     * outlives the server: the kit destroys it only after `stop` returned.
     * Throw (any std::exception) if the server cannot start; the clause then
     * fails with your message.
     */
    std::function<std::uint16_t(Hub& hub, const TransportSettings& settings)> start;

    /**
     * Graceful shutdown of what `start` started: stop listening, close every
     * WebSocket with 1001, and return once the server is stopped. Clients
     * that never answer the close frame may hold it for the settings'
     * `close_timeout` at most: the shutdown-bound clause allows one second
     * more.
     */
    std::function<void()> stop;
};

struct KitOptions {
    /** How long the kit waits for each thing it expects (a message, a close, an upgrade). */
    std::chrono::milliseconds timeout{5'000};
    /** Clients in the concurrent-connects clause. */
    std::size_t concurrent_clients = 100;
    /** Run only these clauses (names as in clause_names()); empty: all. */
    std::vector<std::string> only;
    /** Given to each clause's Hub (Options::log_sink), e.g. stderr_log_sink() while debugging. */
    LogSink log_sink;
    LogLevel log_level = LogLevel::info;
    /**
     * Called with each clause's hub options (the limits the clause needs
     * already set) just before its Hub is made: e.g. to put every hub in a
     * cluster (Options::directory), so that the clauses also hold there.
     */
    std::function<void(Options&)> hub_options;
};

/** The outcome of one clause. */
struct ClauseResult {
    std::string name;     ///< e.g. "slow-consumer"
    std::string promise;  ///< what the clause checks, one sentence
    bool passed = false;
    std::string failure;  ///< when failed: what was expected and what was observed
    std::chrono::milliseconds duration{0};
};

struct Report {
    std::vector<ClauseResult> clauses;

    /** True when every clause that ran passed (and at least one ran). */
    bool passed() const;
    /** One line per clause ("PASS name" / "FAIL name: explanation"), then a summary line. */
    std::string text() const;
};

/** The clause names, in the order they run. */
std::vector<std::string> clause_names();

/**
 * Run the clauses against `target`. Never throws for a failing adapter:
 * every failure (including exceptions from start/stop) lands in the report.
 * Throws std::invalid_argument if `options.only` names an unknown clause or
 * `target` lacks start or stop.
 */
Report run_conformance(const Target& target, const KitOptions& options = {});

/**
 * For a plain main(): parse `--only NAME` (repeatable) and `--timeout-ms N`,
 * run, print the report to `out`, and return 0 when every clause passed,
 * 1 otherwise (2 for bad arguments).
 */
int run_conformance_main(const Target& target, int argc, const char* const* argv, std::ostream& out);
int run_conformance_main(const Target& target, int argc, const char* const* argv);

}  // namespace switchboard::testing

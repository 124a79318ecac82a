// A small adapter on POSIX threads whose faults can be switched on, to show
// that the conformance kit's clauses catch what they are written for: with
// no fault it passes them; with one, the clause about it fails. It is not a
// model of an adapter (a thread per connection, blocking writes): see
// src/beast and src/websocketpp for those.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include <switchboard/hub.hpp>
#include <switchboard/testing/conformance.hpp>

namespace switchboard::test {

struct Faults {
    /** Connection::send writes from the caller's thread, header and payload in two writes, with no lock. */
    bool unlocked_writes = false;
    /** The writer sends what is queued newest first. */
    bool reversed_bursts = false;
    /** Reading the upgrade request has no time limit. */
    bool no_handshake_timeout = false;
    /** stop() waits up to 4 s for clients to answer the close frame, whatever close_timeout says. */
    bool slow_stop = false;
};

class FaultyAdapter {
public:
    explicit FaultyAdapter(Faults faults = {});
    ~FaultyAdapter();

    /** The kit's Target::start: listen on 127.0.0.1 at a free port. */
    std::uint16_t start(Hub& hub, const testing::TransportSettings& settings);
    /** The kit's Target::stop: close every client with 1001 and return once all are gone. */
    void stop();

    struct State;

private:
    Faults faults_;
    std::shared_ptr<State> state_;
};

}  // namespace switchboard::test

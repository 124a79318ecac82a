// Switchboard: WebRTC signalling for C++ servers. Include this for the core.
//
// Read in this order:
//   errors.hpp        error codes and close codes
//   connection.hpp    the interface an adapter implements for each socket
//   options.hpp       limits, policies, logging
//   message_view.hpp  how validators see an incoming message
//   messages.hpp      the built-in message types
//   hub.hpp           the hub: registry, rooms, routing, hooks
//
// Adapters live in their own headers (switchboard/beast.hpp, ...) and
// targets, so including this never pulls in a transport library.
#pragma once

#include <switchboard/connection.hpp>
#include <switchboard/errors.hpp>
#include <switchboard/hub.hpp>
#include <switchboard/message_view.hpp>
#include <switchboard/messages.hpp>
#include <switchboard/options.hpp>
#include <switchboard/version.hpp>

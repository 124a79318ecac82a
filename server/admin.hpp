// switchboard-server: the admin HTTP API (--admin-token-file), host control
// over JSON on the server's own port. Every request needs the header
// `Authorization: Bearer <token>` (else 401). Cluster-wide when clustered.
//
//   GET  /admin/rooms                 {"rooms":["","lobby"]}
//   GET  /admin/users?room=NAME       {"room":"lobby","users":[{"userId":7,"profile":{"name":"Ann"}}]}
//                                     (no `room`, or an empty one: the default room)
//   POST /admin/send                  {"to":7,"message":{"type":"notice","text":"hi"}}
//                                     -> 200 {"result":"sent"}; 404 no-such-user; 409 recipient-busy
//   POST /admin/broadcast             {"room":"lobby","message":{"type":"notice","text":"hi"}}
//                                     -> 200 {"sent":3}
//   POST /admin/disconnect            {"userId":7,"code":4000,"reason":"removed"} (code, reason optional)
//                                     -> 200 {"disconnected":true}; 404 no-such-user
//
// Failures answer {"error":{"code":"...","message":"..."}}: 400
// invalid-request (bad JSON or fields), 401 unauthorized, 404 not-found,
// 405 method-not-allowed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <switchboard/beast.hpp>

namespace switchboard::server {

/** Answers for targets under /admin/; nullopt for every other target. */
using AdminHandler = std::function<std::optional<beast::HttpResponse>(const beast::HttpRequest&)>;

/** The admin API of `hub`, for requests bearing `token`. */
AdminHandler make_admin_handler(Hub& hub, std::string token);

}  // namespace switchboard::server

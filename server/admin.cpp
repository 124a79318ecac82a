#include "admin.hpp"

#include <nlohmann/json.hpp>

#include <switchboard/transport.hpp>

#include "detail/constant_time.hpp"
#include "web.hpp"

namespace switchboard::server {
namespace {

namespace http = boost::beast::http;
using beast::HttpRequest;
using beast::HttpResponse;
using nlohmann::json;

HttpResponse json_response(http::status status, const HttpRequest& request, const json& body) {
    HttpResponse response{status, request.version()};
    response.set(http::field::content_type, "application/json");
    response.set(http::field::cache_control, "no-store");
    response.keep_alive(request.keep_alive());
    response.body() = body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    response.prepare_payload();
    return response;
}

HttpResponse failure(http::status status, const HttpRequest& request, std::string_view code, std::string message) {
    return json_response(status, request, {{"error", {{"code", code}, {"message", std::move(message)}}}});
}

/** The value of query parameter `name` in `query`, percent-decoded; nullopt when absent or malformed. */
std::optional<std::string> query_value(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        auto eq = pair.find('=');
        if (pair.substr(0, eq) == name) {
            std::string value;
            if (eq == std::string_view::npos) return value;
            if (!percent_decode(pair.substr(eq + 1), value)) return std::nullopt;
            return value;
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

bool room_name(const std::string& room) {
    return room.empty() || room_from_path("/room/" + room) == room;
}

class Admin {
public:
    Admin(Hub& hub, std::string token) : hub_(hub), token_(std::move(token)) {}

    std::optional<HttpResponse> operator()(const HttpRequest& request) const {
        auto [path, query] = split_target(std::string_view(request.target().data(), request.target().size()));
        if (path != "/admin" && path.rfind("/admin/", 0) != 0) return std::nullopt;
        auto auth = request[http::field::authorization];
        std::string_view given(auth.data(), auth.size());
        if (given.rfind("Bearer ", 0) != 0 || !switchboard::detail::equal_in_constant_time(given.substr(7), token_)) {
            auto response = failure(http::status::unauthorized, request, "unauthorized",
                                    "send Authorization: Bearer <admin token>");
            response.set(http::field::www_authenticate, "Bearer");
            return response;
        }
        try {
            return route(request, path, query);
        } catch (const std::invalid_argument& e) {
            return failure(http::status::bad_request, request, "invalid-request", e.what());
        } catch (const json::exception& e) {
            return failure(http::status::bad_request, request, "invalid-request",
                           switchboard::invalid_message(e).message);
        }
    }

private:
    HttpResponse route(const HttpRequest& request, std::string_view path, std::string_view query) const {
        const bool get = request.method() == http::verb::get, post = request.method() == http::verb::post;
        auto only = [&](bool allowed, const char* method) -> std::optional<HttpResponse> {
            if (allowed) return std::nullopt;
            auto response =
                failure(http::status::method_not_allowed, request, "method-not-allowed", std::string("use ") + method);
            response.set(http::field::allow, method);
            return response;
        };
        if (path == "/admin/rooms") {
            if (auto no = only(get, "GET")) return *no;
            return json_response(http::status::ok, request, {{"rooms", hub_.rooms()}});
        }
        if (path == "/admin/users") {
            if (auto no = only(get, "GET")) return *no;
            auto room = query_value(query, "room").value_or("");
            if (!room_name(room)) throw std::invalid_argument("`room` is not a room name");
            auto users = json::array();
            for (auto& u : hub_.users(room))
                users.push_back({{"userId", u.id}, {"profile", u.profile}});
            return json_response(http::status::ok, request, {{"room", room}, {"users", users}});
        }
        if (path == "/admin/send") {
            if (auto no = only(post, "POST")) return *no;
            auto body = object_body(request);
            auto to = user_id(body, "to");
            switch (hub_.send_to(to, body.at("message"))) {
                case SendResult::sent:
                    return json_response(http::status::ok, request, {{"result", "sent"}});
                case SendResult::busy:
                    return failure(http::status::conflict, request, "recipient-busy",
                                   "the user has too many messages waiting; this one was dropped");
                case SendResult::no_such_user:
                    break;
            }
            return failure(http::status::not_found, request, "no-such-user", "no user has that ID");
        }
        if (path == "/admin/broadcast") {
            if (auto no = only(post, "POST")) return *no;
            auto body = object_body(request);
            auto room = body.value("room", std::string());
            if (!room_name(room)) throw std::invalid_argument("`room` is not a room name");
            auto sent = hub_.broadcast(room, body.at("message"));
            return json_response(http::status::ok, request, {{"sent", sent}});
        }
        if (path == "/admin/disconnect") {
            if (auto no = only(post, "POST")) return *no;
            auto body = object_body(request);
            auto id = user_id(body, "userId");
            int code = body.value("code", close_code::removed);
            auto reason = body.value("reason", std::string("removed by the server"));
            if (!hub_.disconnect(id, code, reason))
                return failure(http::status::not_found, request, "no-such-user", "no user has that ID");
            return json_response(http::status::ok, request, {{"disconnected", true}});
        }
        return failure(http::status::not_found, request, "not-found", "no such admin endpoint");
    }

    static json object_body(const HttpRequest& request) {
        auto body = json::parse(request.body(), nullptr, false);
        if (!body.is_object()) throw std::invalid_argument("the body must be a JSON object");
        return body;
    }

    static UserId user_id(const json& body, const char* name) {
        auto it = body.find(name);
        if (it == body.end() || !it->is_number_unsigned() || it->get<UserId>() > max_user_id)
            throw std::invalid_argument(std::string("`") + name + "` must be a user ID");
        return it->get<UserId>();
    }

    Hub& hub_;
    const std::string token_;
};

}  // namespace

AdminHandler make_admin_handler(Hub& hub, std::string token) {
    return Admin(hub, std::move(token));
}

}  // namespace switchboard::server

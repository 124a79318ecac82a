// A chat bot that is a WebRTC peer: a hub on a Beast server that also serves
// the chat page, and the host as user 0 of the default room, which greets
// every browser that connects and answers each line it is sent, peer to peer
// over their data channels (the server routes only the signalling).
//
//   switchboard-host-peer-bot [--port 8080]
//   listening on ws://127.0.0.1:8080/      then open http://127.0.0.1:8080/
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

#include <boost/asio/signal_set.hpp>
#include <switchboard/beast.hpp>
#include <switchboard/peer.hpp>

namespace http = boost::beast::http;
using switchboard::UserId;

/** The chat page's four files, from this source tree (the paths are compiled in). */
switchboard::beast::HttpAnswer chat_page(const switchboard::beast::HttpRequest& request) {
    const std::string target(request.target().substr(0, request.target().find('?'))), web = SWITCHBOARD_CHAT_WEB_ROOT;
    std::string file, type = "text/javascript";
    if (target == "/") file = web + "/index.html", type = "text/html";
    if (target == "/chat.js") file = web + target;
    if (target == "/style.css") file = web + target, type = "text/css";
    if (target == "/switchboard.js") file = SWITCHBOARD_CLIENT_JS;
    switchboard::beast::FileResponse response{http::status::ok, request.version()};
    boost::beast::error_code error;
    if (!file.empty()) response.body().open(file.c_str(), boost::beast::file_mode::scan, error);
    if (file.empty() || error) return switchboard::beast::HttpResponse{http::status::not_found, request.version()};
    response.set(http::field::content_type, type);
    response.prepare_payload();
    return response;
}

int main(int argc, char** argv) {
    switchboard::Hub hub;
    switchboard::beast::ServerOptions options;  // on 127.0.0.1 (options.host)
    options.port =
        static_cast<std::uint16_t>(argc == 3 && std::string(argv[1]) == "--port" ? std::atoi(argv[2]) : 8080);
    options.http_handler = chat_page;
    switchboard::beast::Server server(hub, options);
    if (auto error = server.listen()) return std::cerr << error->message << '\n', 1;

    switchboard::peer::PeerOptions me;
    me.profile = {{"name", "Bot"}};
    me.local_addresses = {"127.0.0.1"};  // on a LAN: options.host "0.0.0.0", and leave this out
    switchboard::peer::HostPeer bot(hub, me);
    bot.on_connected(
        [&bot](UserId peer) { bot.send(peer, "Hello, user " + std::to_string(peer) + "! Say something."); });
    bot.on_message([&bot](UserId from, const nlohmann::json& line) {
        bot.send(from, "You said: " + (line.is_string() ? line.get<std::string>() : line.dump()));
    });
    bot.join();

    boost::asio::signal_set signals(server.io_context(), SIGINT, SIGTERM);
    signals.async_wait([&server](auto, int) { server.stop(); });
    std::cout << "listening on " << server.url() << std::endl;
    server.run();
}  // the bot leaves the room, then the server and the hub go

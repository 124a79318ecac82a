// An existing websocketpp server that adds Switchboard signalling.
//
// The server keeps doing what it did before (here: answering plain HTTP on
// /healthz and /stats with its own http handler); the adapter adds the
// WebSocket side: ws://HOST:PORT/ and ws://HOST:PORT/room/<name>.
//
//   switchboard-websocketpp-embed [--host 127.0.0.1] [--port 8080]   (--port 0: any free port)
//
// Prints "listening on ws://HOST:PORT/" once it accepts connections, like
// switchboard-server. SIGINT/SIGTERM: close every WebSocket with 1001 and exit 0.
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include <boost/asio/signal_set.hpp>

#include <switchboard/switchboard.hpp>
#include <switchboard/websocketpp.hpp>

namespace {

struct Args {
    std::string host = "127.0.0.1";
    unsigned long port = 8080;
};

bool parse(int argc, char** argv, Args& args) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--host" && i + 1 < argc) {
            args.host = argv[++i];
        } else if (arg == "--port" && i + 1 < argc) {
            char* end = nullptr;
            args.port = std::strtoul(argv[++i], &end, 10);
            if (*end != '\0' || args.port > 65535) return false;
        } else {
            return false;
        }
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    Args args;
    if (!parse(argc, argv, args)) {
        std::cerr << "usage: " << argv[0] << " [--host ADDRESS] [--port N]   (N = 0: any free port)\n";
        return 2;
    }

    // ---- The application's server, as it was before Switchboard ----
    switchboard::websocketpp::Server server;
    server.clear_access_channels(websocketpp::log::alevel::all);
    server.clear_error_channels(websocketpp::log::elevel::all);
    server.set_error_channels(websocketpp::log::elevel::fatal);
    server.init_asio();
    server.set_reuse_addr(true);

    switchboard::Options options;
    options.log_sink = switchboard::stderr_log_sink();
    switchboard::Hub hub(options);

    server.set_http_handler([&](websocketpp::connection_hdl hdl) {
        auto con = server.get_con_from_hdl(hdl);
        if (con->get_resource() == "/healthz") {
            con->set_status(websocketpp::http::status_code::ok);
            con->set_body("ok\n");
        } else if (con->get_resource() == "/stats") {
            auto c = hub.counters();
            con->set_status(websocketpp::http::status_code::ok);
            con->append_header("Content-Type", "application/json");
            con->set_body(nlohmann::json{{"users", c.connections_open}, {"rooms", c.rooms_open}}.dump() + "\n");
        } else {
            con->set_status(websocketpp::http::status_code::not_found);
            con->set_body("not found\n");
        }
    });

    // ---- Switchboard: one line to plug the hub into the server ----
    switchboard::websocketpp::Adapter adapter(hub, server);

    websocketpp::lib::error_code ec;
    boost::system::error_code address_error;
    auto address = boost::asio::ip::make_address(args.host, address_error);
    if (address_error) {
        std::cerr << "bad --host " << args.host << ": " << address_error.message() << '\n';
        return 1;
    }
    server.listen(boost::asio::ip::tcp::endpoint(address, static_cast<unsigned short>(args.port)), ec);
    if (ec) {
        std::cerr << "cannot listen on " << args.host << ':' << args.port << ": " << ec.message() << '\n';
        return 1;
    }
    server.start_accept(ec);
    if (ec) {
        std::cerr << "cannot accept: " << ec.message() << '\n';
        return 1;
    }

    boost::asio::signal_set signals(server.get_io_service(), SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& error, int) {
        if (!error) adapter.close_all();
    });

    boost::system::error_code endpoint_error;
    auto bound = server.get_local_endpoint(endpoint_error);
    std::string host = bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
    std::cout << "listening on ws://" << host << ':' << bound.port() << '/' << std::endl;

    server.run();  // returns once close_all() has closed everything
    return 0;
}

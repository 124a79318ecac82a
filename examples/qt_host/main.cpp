// A Qt console application that hosts a chat room and takes part in it.
//
// Its own QTcpServer answers plain HTTP with the bundled chat page
// (examples/chat/web and clients/js/switchboard.js) and hands every
// WebSocket upgrade to the Qt adapter (switchboard::qt::Adapter::serve):
// one port for both, like switchboard-server. The application itself joins
// a room as user 0, "Host" (Hub::join_local), and prints what it hears.
//
// Chat lines between pages travel over WebRTC data channels, which a host
// without a WebRTC stack cannot open: the pages list the host, but never as
// connected. What the host can do is signalling, so it registers one more
// routable type, `chat` ({"type":"chat","to":ID,"text":"..."}): a page (or
// its console) that sends one to user 0 is answered by the host, and a line
// typed on the host's stdin goes to every user of its room that way.
//
//   switchboard-qt-host [--host 127.0.0.1] [--port 8080] [--web-root DIR] [--room NAME]
//                       [--allow-client-names] [--log-level LEVEL] [--threads N (ignored: one Qt thread)]
//
// Prints "listening on ws://HOST:PORT/" once it accepts connections, like
// switchboard-server. SIGINT/SIGTERM: close every WebSocket with 1001 and exit 0.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <sys/socket.h>
#include <unistd.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QSocketNotifier>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>

#include <switchboard/qt.hpp>
#include <switchboard/switchboard.hpp>

namespace {

namespace sb = switchboard;

struct Args {
    QString host = QStringLiteral("127.0.0.1");
    quint16 port = 8080;
    QString web_root = QStringLiteral(SWITCHBOARD_CHAT_WEB_ROOT);
    QString client_js = QStringLiteral(SWITCHBOARD_CLIENT_JS);
    std::string room;
    bool allow_client_names = false;
    sb::LogLevel log_level = sb::LogLevel::info;
};

bool parse(const QStringList& argv, Args& args) {
    for (int i = 1; i < argv.size(); ++i) {
        const QString& arg = argv[i];
        const bool has_value = i + 1 < argv.size();
        bool ok = true;
        if (arg == "--host" && has_value) {
            args.host = argv[++i];
        } else if (arg == "--port" && has_value) {
            args.port = argv[++i].toUShort(&ok);
        } else if (arg == "--web-root" && has_value) {
            args.web_root = argv[++i];
        } else if (arg == "--room" && has_value) {
            args.room = argv[++i].toStdString();
        } else if (arg == "--log-level" && has_value) {
            ok = sb::parse_log_level(argv[++i].toStdString(), args.log_level);
        } else if (arg == "--threads" && has_value) {
            argv[++i].toUInt(&ok);
        } else if (arg == "--allow-client-names") {
            args.allow_client_names = true;
        } else {
            return false;
        }
        if (!ok) return false;
    }
    return true;
}

// ---- The chat message the host understands ----

struct Chat {
    std::string text;
};

void from_json(const nlohmann::json& j, Chat& m) {
    j.at("text").get_to(m.text);
    if (m.text.empty() || m.text.size() > 1000) throw std::invalid_argument("`text` must be 1 to 1000 bytes");
}

// ---- Plain HTTP: the chat page's files ----

QByteArray content_type(const QString& file) {
    const QString suffix = QFileInfo(file).suffix();
    if (suffix == "html") return "text/html; charset=utf-8";
    if (suffix == "js") return "text/javascript; charset=utf-8";
    if (suffix == "css") return "text/css; charset=utf-8";
    if (suffix == "png") return "image/png";
    return "application/octet-stream";
}

/** Answers one GET or HEAD with a file of the web root (no folders below it) and hangs up. */
void serve_file(QTcpSocket* socket, const QByteArray& head, const Args& args) {
    const QList<QByteArray> request_line = head.left(head.indexOf("\r\n")).split(' ');
    const QByteArray method = request_line.value(0);
    QString path = QString::fromUtf8(request_line.value(1));
    path = path.left(path.indexOf('?'));
    QString file;
    if (path == "/") {
        file = args.web_root + "/index.html";
    } else if (path == "/switchboard.js") {
        file = args.client_js;
    } else if (path.count('/') == 1 && !path.contains("..")) {
        file = args.web_root + path;
    }
    QFile body(file);
    QByteArray response;
    if ((method != "GET" && method != "HEAD") || file.isEmpty() || !body.open(QIODevice::ReadOnly)) {
        response =
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n"
            "Connection: close\r\n\r\nnot found";
    } else {
        const QByteArray content = body.readAll();
        response = "HTTP/1.1 200 OK\r\nContent-Type: " + content_type(file) +
                   "\r\nContent-Length: " + QByteArray::number(content.size()) + "\r\nConnection: close\r\n\r\n";
        if (method == "GET") response += content;
    }
    socket->readAll();
    socket->write(response);
    socket->disconnectFromHost();
}

/** A WebSocket upgrade request: it has an "Upgrade: websocket" header. */
bool is_websocket_upgrade(const QByteArray& head) {
    for (const QByteArray& line : head.split('\n')) {
        const int colon = line.indexOf(':');
        if (colon > 0 && line.left(colon).trimmed().toLower() == "upgrade" &&
            line.mid(colon + 1).trimmed().toLower() == "websocket")
            return true;
    }
    return false;
}

// ---- SIGINT and SIGTERM, turned into a Qt event (a signal handler may only write to a pipe) ----

int signal_pipe[2];

void on_signal(int) {
    char byte = 1;
    (void)!::write(signal_pipe[1], &byte, 1);
}

}  // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    Args args;
    if (!parse(app.arguments(), args)) {
        std::cerr << "usage: " << argv[0]
                  << " [--host ADDRESS] [--port N] [--web-root DIR] [--room NAME] [--allow-client-names]"
                     " [--log-level LEVEL]   (N = 0: any free port)\n";
        return 2;
    }

    sb::Options options;
    options.allow_client_names = args.allow_client_names;
    options.log_level = args.log_level;
    options.log_sink = sb::stderr_log_sink();
    sb::Hub hub(options);
    hub.add_routable_type<Chat>("chat");
    hub.on_join([](const sb::UserEvent& e) {
        if (e.id != sb::host_user_id) std::cout << "user " << e.id << " joined, profile " << e.profile << std::endl;
    });
    hub.on_leave([](const sb::UserEvent& e) { std::cout << "user " << e.id << " left" << std::endl; });

    // ---- The host as a user of its room. Its handler runs on the thread that
    // routed the message: here always the Qt thread, the adapter's only one.
    std::shared_ptr<sb::LocalParticipant> host;
    auto on_message = [&host](const nlohmann::json& m) {
        const std::string type = m.value("type", "");
        if (type == "chat" && host) {
            const auto from = m.value("from", sb::UserId(0));
            const std::string text = m.value("text", "");
            std::cout << "user " << from << " says: " << text << std::endl;
            host->send({{"type", "chat"}, {"to", from}, {"text", "Host heard you: " + text}});
        } else if (type == "peer-connect") {
            std::cout << "user " << m.value("from", sb::UserId(0))
                      << " offered a WebRTC connection; this host has no WebRTC and leaves it unanswered" << std::endl;
        } else if (type == "login" || type == "error") {
            std::cout << "host: " << m.dump() << std::endl;
        }
    };
    host = hub.join_local(args.room, on_message, sb::Hub::LocalId::host, {{"name", "Host"}, {"bot", true}});

    // ---- The application's server: files itself, WebSockets to the adapter.
    sb::qt::Adapter adapter(hub);
    QTcpServer http;
    QObject::connect(&http, &QTcpServer::newConnection, &http, [&] {
        while (QTcpSocket* socket = http.nextPendingConnection()) {
            QObject::connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
            QObject::connect(socket, &QTcpSocket::readyRead, socket, [&, socket] {
                const QByteArray head = socket->peek(socket->bytesAvailable());  // read nothing yet
                if (!head.contains("\r\n\r\n")) {
                    if (head.size() > 16 * 1024) socket->abort();
                    return;
                }
                if (!is_websocket_upgrade(head)) return serve_file(socket, head, args);
                socket->disconnect(socket);  // our handlers off: the adapter owns it now
                adapter.serve(socket);
            });
        }
    });
    if (!http.listen(QHostAddress(args.host), args.port)) {
        std::cerr << "cannot listen on " << args.host.toStdString() << ":" << args.port << ": "
                  << http.errorString().toStdString() << "\n";
        return 1;
    }
    std::cout << "listening on ws://" << args.host.toStdString() << ":" << http.serverPort() << "/" << std::endl;

    // ---- A line on stdin: a chat message to every user of the room.
    QSocketNotifier input(STDIN_FILENO, QSocketNotifier::Read);
    QObject::connect(&input, &QSocketNotifier::activated, &input, [&] {
        std::string line;
        if (!std::getline(std::cin, line)) return input.setEnabled(false);  // end of input
        if (line.empty()) return;
        for (const auto& user : hub.users(args.room))
            if (user.id != host->id()) host->send({{"type", "chat"}, {"to", user.id}, {"text", line}});
    });

    // ---- Graceful stop.
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, signal_pipe) != 0) return 1;
    QSocketNotifier signals(signal_pipe[0], QSocketNotifier::Read);
    QObject::connect(&signals, &QSocketNotifier::activated, &signals, [&] {
        signals.setEnabled(false);
        http.close();
        host->leave();
        adapter.close_all(sb::close_code::going_away, [] { QCoreApplication::quit(); });
    });
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    const int status = app.exec();
    host.reset();
    return status;
}

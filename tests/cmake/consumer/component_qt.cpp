// switchboard::qt links: an adapter on this thread's Qt event loop listens
// on a free loopback port.
#include <QtCore/QCoreApplication>

#include <switchboard/qt.hpp>

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    switchboard::Hub hub;
    switchboard::qt::Adapter adapter(hub);
    if (adapter.listen(QHostAddress::LocalHost, 0)) return 1;
    return adapter.port() != 0 && adapter.connection_count() == 0 ? 0 : 1;
}

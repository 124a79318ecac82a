// main() of the Qt tests: Catch2 (2.x or 3.x) with one QCoreApplication for
// the process, made on the main thread before any Qt event loop runs. It is
// never exec'd: the adapters under test run on QThreads of their own, and
// the tests that act as clients process events on this thread themselves.
#if __has_include(<catch2/catch_session.hpp>)
#include <catch2/catch_session.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

#include <QtCore/QCoreApplication>

int main(int argc, char** argv) {
    int qt_argc = 1;
    QCoreApplication app(qt_argc, argv);
    return Catch::Session().run(argc, argv);
}

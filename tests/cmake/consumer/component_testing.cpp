#include <switchboard/testing/conformance.hpp>

int main(int argc, char** argv) {
    // Linking is the check; running the kit needs a target, so never run it here.
    if (argc > 1000) return switchboard::testing::run_conformance_main({}, argc, argv);
    return 0;
}

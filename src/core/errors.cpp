#include <switchboard/errors.hpp>

namespace switchboard {

Error invalid_message(const std::exception& e) {
    std::string_view what = e.what();
    if (what.substr(0, 16) == "[json.exception.") {
        auto end = what.find("] ");
        if (end != std::string_view::npos) what.remove_prefix(end + 2);
    }
    return Error{std::string(errc::invalid_message), std::string(what)};
}

}  // namespace switchboard

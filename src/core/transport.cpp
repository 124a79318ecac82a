#include <switchboard/transport.hpp>

namespace switchboard {

RequestTarget split_target(std::string_view target) noexcept {
    auto question = target.find('?');
    if (question == std::string_view::npos) return {target, {}};
    return {target.substr(0, question), target.substr(question + 1)};
}

bool logs(const Options& options, LogLevel level) noexcept {
    return options.log_sink && level != LogLevel::off && level >= options.log_level;
}

void log(const Options& options, LogLevel level, std::string_view line) {
    if (logs(options, level)) options.log_sink(level, line);
}

}  // namespace switchboard

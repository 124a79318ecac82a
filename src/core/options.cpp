#include <switchboard/options.hpp>

#include <cstdio>
#include <string>

namespace switchboard {

std::string_view to_string(LogLevel level) noexcept {
    switch (level) {
        case LogLevel::trace:
            return "trace";
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warn:
            return "warn";
        case LogLevel::error:
            return "error";
        case LogLevel::off:
            return "off";
    }
    return "off";
}

bool parse_log_level(std::string_view name, LogLevel& out) noexcept {
    for (auto level :
         {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error, LogLevel::off}) {
        if (to_string(level) == name) {
            out = level;
            return true;
        }
    }
    return false;
}

LogSink stderr_log_sink() {
    return [](LogLevel level, std::string_view line) {
        std::string text;
        text.reserve(line.size() + 10);
        text.append("[").append(to_string(level)).append("] ").append(line).append("\n");
        std::fwrite(text.data(), 1, text.size(), stderr);
    };
}

}  // namespace switchboard

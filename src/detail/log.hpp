// A log line formatted only when it will be written: the one helper the
// core, the adapters and the cluster share. Private to the library.
#pragma once

#include <utility>

#include <fmt/format.h>

#include <switchboard/transport.hpp>

namespace switchboard::detail {

/** Formats and logs a line when `options` logs `level` (switchboard::logs). */
template <class... Args>
void log(const Options& options, LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
    if (logs(options, level)) options.log_sink(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace switchboard::detail

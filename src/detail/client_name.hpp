// The display name a client proposes with the `name` query parameter
// (Options::allow_client_names). Private to the library; fuzzed by
// tests/fuzz/hub_ops_fuzz.cpp through Hub::admit.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::detail {

/**
 * `raw` as the query carries it (percent-encoded UTF-8, '+' for a space)
 * decoded, with spaces around it trimmed. nullopt, with `why` set to a
 * sentence for the client, when the encoding is broken, the text is not
 * UTF-8, holds a control or bidirectional-override character, is empty, or
 * has more than `max_length` code points.
 */
std::optional<std::string> parse_client_name(std::string_view raw, std::size_t max_length, std::string& why);

}  // namespace switchboard::detail

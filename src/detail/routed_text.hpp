// The text a routed message reaches its recipient as. Private to the
// library; the JSON scanner benchmark measures this same function.
#pragma once

#include <charconv>
#include <memory>
#include <string>

#include <switchboard/message_view.hpp>
#include <switchboard/messages.hpp>

namespace switchboard::detail {

/**
 * Splices instead of re-serialising: `"from":<from>` first, then every
 * member of `view` but `to` and `from`, exactly as received.
 */
inline std::shared_ptr<std::string> routed_text(const MessageView& view, UserId from) {
    auto out = std::make_shared<std::string>();
    out->reserve(view.text().size() + 24);
    out->append(R"({"from":)");
    char id[20];
    out->append(id, static_cast<std::size_t>(std::to_chars(id, id + sizeof id, from).ptr - id));
    for (const auto& m : view.members()) {
        auto key = m.key();
        if (key == "to" || key == "from") continue;
        out->push_back(',');
        out->append(m.raw_key);
        out->push_back(':');
        out->append(m.value);
    }
    out->push_back('}');
    return out;
}

}  // namespace switchboard::detail

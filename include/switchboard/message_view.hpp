// Switchboard: a validated, read-only view of one incoming JSON message.
//
// The hub checks every incoming text once (JSON syntax, UTF-8, nesting depth)
// and records where each top-level member starts and ends, without building
// a DOM. Validators of routable types receive that view: cheap checks read
// single members; `json()` parses the whole message with nlohmann when a
// validator prefers a typed struct.
//
// As in JavaScript's JSON.parse, when a key occurs twice the last one wins,
// so a validator sees exactly what the receiving browser will see.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace switchboard {

class MessageView {
public:
    /** One member of the object: its decoded key and its value's raw JSON text. */
    struct Member {
        std::string_view raw_key;  ///< the key as written, quotes included
        std::string_view value;    ///< the value's JSON text, exactly as received
        std::string decoded_key;   ///< set only when the key contains escapes
        std::string_view key() const noexcept {
            return decoded_key.empty() ? raw_key.substr(1, raw_key.size() - 2) : std::string_view(decoded_key);
        }
    };

    /**
     * Check `text` and view it. On failure returns nullopt and sets `why`
     * to a human sentence; `not_object` tells valid JSON that is not an
     * object apart from text that is not JSON at all.
     */
    static std::optional<MessageView> parse(std::string_view text, int max_depth, std::string* why = nullptr,
                                            bool* not_object = nullptr);

    MessageView(MessageView&&) noexcept;
    MessageView& operator=(MessageView&&) noexcept;
    ~MessageView();

    /** The whole text this view was parsed from. */
    std::string_view text() const noexcept { return text_; }

    /** All members, in the order written (duplicates included). */
    const std::vector<Member>& members() const noexcept { return members_; }

    /** Raw JSON text of member `key` (last occurrence), or nullopt. */
    std::optional<std::string_view> raw(std::string_view key) const noexcept;

    /** Member `key` as a decoded string; nullopt if absent or not a string. */
    std::optional<std::string> string(std::string_view key) const;

    /** True when member `key` is present and is a string; decodes nothing (cheap on a long SDP). */
    bool is_string(std::string_view key) const noexcept;

    /**
     * Member `key` as an unsigned integer written with digits only and no
     * larger than `max`; nullopt otherwise (absent, negative, fraction,
     * exponent, too large).
     */
    std::optional<std::uint64_t> uint(std::string_view key, std::uint64_t max) const noexcept;

    /** Member `key` as a nested object view; nullopt if absent or not an object. */
    std::optional<MessageView> object(std::string_view key) const;

    /** True when member `key` is present and is the literal null. */
    bool is_null(std::string_view key) const noexcept;

    /** The whole message parsed by nlohmann::json (done once, on first call). */
    const nlohmann::json& json() const;

private:
    MessageView() = default;
    std::string_view text_;
    std::vector<Member> members_;
    mutable std::unique_ptr<nlohmann::json> json_;
};

}  // namespace switchboard

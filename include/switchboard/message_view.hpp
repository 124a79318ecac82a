// Switchboard: a validated, read-only view of one incoming JSON message.
//
// The hub checks every incoming text once (JSON syntax, UTF-8, nesting depth)
// and records where each top-level member starts and ends, without building
// a DOM. Validators of routable types receive that view: cheap checks read
// single members; `json()` parses the whole message with nlohmann when a
// validator prefers a typed struct.
//
// Member names must be unique in every object, at every depth (I-JSON, RFC
// 7493): a text with a duplicate is refused. Parsers disagree on which of two
// duplicates wins, so a message that has them could show a recipient
// something other than what the server checked.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include <switchboard/errors.hpp>

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

    class Parsed;

    /**
     * Check `text` and view it: the view, or the error saying why not
     * (Parsed::error): code errc::invalid_json for text that is not JSON
     * (bad syntax, bad UTF-8, nesting deeper than `max_depth`),
     * errc::invalid_message for JSON that is not a message (not an object,
     * a duplicate member name), and a human sentence.
     */
    static Parsed parse(std::string_view text, int max_depth);

    MessageView(MessageView&&) noexcept;
    MessageView& operator=(MessageView&&) noexcept;
    ~MessageView();

    /** The whole text this view was parsed from. */
    std::string_view text() const noexcept { return text_; }

    /** All members, in the order written. */
    const std::vector<Member>& members() const noexcept { return members_; }

    /** Raw JSON text of member `key`, or nullopt. */
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

/** What MessageView::parse gives: a view (use it like a pointer), or the error. */
class MessageView::Parsed {
public:
    explicit operator bool() const noexcept { return view_.has_value(); }
    const MessageView& operator*() const { return *view_; }
    MessageView& operator*() { return *view_; }
    const MessageView* operator->() const { return &*view_; }
    MessageView* operator->() { return &*view_; }

    /** Why the text was refused; empty code and message when it was not. */
    const Error& error() const noexcept { return error_; }

private:
    friend class MessageView;
    Parsed(MessageView view) : view_(std::move(view)) {}
    Parsed(Error error) : error_(std::move(error)) {}
    std::optional<MessageView> view_;
    Error error_;
};

}  // namespace switchboard

// message_view_fuzz: MessageView::parse against nlohmann::json, then the same
// text routed through a real Hub.
//
// 1. Differential. MessageView::parse(text, 32) accepts exactly when
//    nlohmann accepts the text, the value is an object, it nests at most 32
//    deep (the message is depth 1, each array/object inside adds 1), and no
//    object at any depth has two members of the same decoded name (found
//    here with a SAX pass over the input, since nlohmann keeps the last).
//    A rejection says invalid-json for text that is not JSON or nests too
//    deep, invalid-message for JSON that is not an object or repeats a name
//    (either code when a text is both too deep and one of those).
//    Two nlohmann habits are not JSON and are corrected for: it ends the
//    input at a NUL byte, and it skips a UTF-8 byte order mark (RFC 8259
//    lets a parser refuse one; MessageView does, as JSON.parse does).
// 2. Routing. Users A (the sender), B and C in the default room, D in another
//    room; the hub routes unknown types and has no rate limit. A sends the
//    text as it is and, when it is an accepted object without `to`, also
//    with `"to":<B>` spliced in after its `{`. Then: exactly one message
//    goes out in total; an error goes only to A, with MessageView's code when
//    it refused the text; a routed message goes only to the user its `to`
//    names, in A's room, and parses to the original object without `to`
//    and with `from` set to A (a client's `from` replaced), with unique
//    names. For types the hub does not validate itself, which of the two
//    happens is predicted exactly (invalid-message, forbidden,
//    unknown-recipient, or delivery to `to`).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <switchboard/hub.hpp>

#include "fuzz_check.hpp"

namespace {

using nlohmann::json;
using switchboard::fuzz::printable;

constexpr int max_depth = 32;

/** What nlohmann's SAX parser sees in a text: valid, object, depth, duplicate names. */
class Oracle final : public nlohmann::json_sax<json> {
public:
    bool json_ok = false;
    bool is_object = false;
    bool duplicate = false;
    int depth = 0;

    explicit Oracle(std::string_view text) {
        // A NUL can never be part of a JSON text; nlohmann stops reading at one.
        bool nul = text.find('\0') != std::string_view::npos;
        bool bom = text.substr(0, 3) == "\xEF\xBB\xBF";
        json_ok = json::sax_parse(text.begin(), text.end(), this) && !nul && !bom;
    }

    bool null() override { return scalar(); }
    bool boolean(bool) override { return scalar(); }
    bool number_integer(number_integer_t) override { return scalar(); }
    bool number_unsigned(number_unsigned_t) override { return scalar(); }
    bool number_float(number_float_t, const string_t&) override { return scalar(); }
    bool string(string_t&) override { return scalar(); }
    bool binary(binary_t&) override { return scalar(); }
    bool start_object(std::size_t) override {
        if (first_) is_object = true;
        open(true);
        return true;
    }
    bool key(string_t& name) override {
        if (!names_.back().insert(name).second) duplicate = true;
        return true;
    }
    bool end_object() override {
        names_.pop_back();
        return true;
    }
    bool start_array(std::size_t) override {
        open(false);
        return true;
    }
    bool end_array() override {
        names_.pop_back();
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

private:
    bool scalar() {
        first_ = false;
        return true;
    }
    void open(bool) {
        first_ = false;
        names_.emplace_back();
        depth = std::max(depth, static_cast<int>(names_.size()));
    }
    bool first_ = true;
    std::vector<std::set<std::string>> names_;  // per open container (unused for arrays)
};

class Recording final : public switchboard::Connection {
public:
    void send(std::shared_ptr<const std::string> text) override { sent.push_back(*text); }
    void close(int, std::string_view) override { closed = true; }
    std::vector<std::string> sent;
    bool closed = false;
};

struct User {
    explicit User(const char* n) : name(n) {}
    std::shared_ptr<Recording> connection = std::make_shared<Recording>();
    std::shared_ptr<switchboard::Session> session;
    const char* name;
};

struct World {
    switchboard::Hub hub{[] {
        switchboard::Options o;
        o.unknown_types = switchboard::UnknownTypePolicy::route;
        o.limits.rate_per_second = 0;
        o.limits.max_json_depth = max_depth;
        o.limits.max_message_bytes = 1 << 20;
        return o;
    }()};
    User users[4] = {User("A"), User("B"), User("C"), User("D")};

    World() {
        for (auto& u : users) {
            switchboard::Handshake h;
            h.path = &u == &users[3] ? "/room/other" : "/";
            auto admission = hub.admit(std::move(h));
            u.session = hub.open(std::move(admission), u.connection);
            FUZZ_CHECK(u.session != nullptr, "could not join user " + std::string(u.name));
        }
        for (auto& u : users)
            u.connection->sent.clear();
    }
};

World& world() {
    static World* w = new World;  // never destroyed: libFuzzer may exit from anywhere
    return *w;
}

struct Verdict {
    bool accepted;
    std::string code;
};

Verdict check_parse(std::string_view text, const Oracle& oracle) {
    auto view = switchboard::MessageView::parse(text, max_depth);
    const auto& error = view.error();
    const bool too_deep = oracle.json_ok && oracle.depth > max_depth;
    const bool not_message = oracle.json_ok && (!oracle.is_object || oracle.duplicate);
    const bool should_accept = oracle.json_ok && !too_deep && !not_message;
    const std::string facts = std::string("nlohmann: ") + (oracle.json_ok ? "JSON" : "not JSON") +
                              (oracle.is_object ? ", an object" : ", not an object") + ", depth " +
                              std::to_string(oracle.depth) + (oracle.duplicate ? ", a duplicate name" : "") +
                              "; text: " + printable(text);
    if (view) {
        FUZZ_CHECK(should_accept, "MessageView accepted; " + facts);
        FUZZ_CHECK(view->text() == text, "view text differs");
        return {true, {}};
    }
    FUZZ_CHECK(!should_accept, "MessageView refused (" + error.code + ": " + error.message + "); " + facts);
    std::set<std::string> allowed;
    if (!oracle.json_ok || too_deep) allowed.insert("invalid-json");
    if (not_message) allowed.insert("invalid-message");
    FUZZ_CHECK(allowed.count(error.code) == 1, "MessageView refused with " + error.code + " (" + error.message +
                                                   "), expected " + *allowed.begin() + "; " + facts);
    FUZZ_CHECK(!error.message.empty(), "a refusal without a message");
    return {false, error.code};
}

/** Checks one delivered text is a JSON object with unique names, and returns it parsed. */
json parse_delivered(const std::string& text, const char* to) {
    Oracle oracle(text);
    FUZZ_CHECK(
        oracle.json_ok && oracle.is_object && !oracle.duplicate,
        std::string("user ") + to + " got a text that is not a JSON object with unique names: " + printable(text));
    return json::parse(text);
}

/** A sends `text`; checks who got what. `original` is the text parsed when MessageView accepted it. */
void route(std::string_view text, const Verdict& verdict, const json* original) {
    World& w = world();
    User& a = w.users[0];
    w.hub.receive(*a.session, text);

    std::size_t total = 0;
    for (auto& u : w.users)
        total += u.connection->sent.size();
    FUZZ_CHECK(total == 1, std::to_string(total) + " messages went out for one text: " + printable(text));
    FUZZ_CHECK(w.users[3].connection->sent.empty(),
               "D, in another room, got " + printable(w.users[3].connection->sent[0]));

    // What the hub must do, when it can be told without its validators.
    std::optional<std::string> expected_error;
    std::optional<switchboard::UserId> expected_to;
    bool predictable = true;
    if (!verdict.accepted) {
        expected_error = verdict.code;
    } else {
        auto type = original->find("type");
        if (type == original->end() || !type->is_string()) {
            expected_error = "invalid-message";
        } else {
            const auto& t = type->get_ref<const std::string&>();
            if (t == "login" || t == "user-joined" || t == "user-left" || t == "error") {
                expected_error = "forbidden";
            } else if (t == "peer-connect" || t == "peer-response" || t == "peer-candidate") {
                predictable = false;  // the built-in validators decide first
            } else {
                auto to = original->find("to");
                if (to == original->end() || !to->is_number_unsigned() ||
                    to->get<std::uint64_t>() > switchboard::max_user_id) {
                    expected_error = "invalid-message";
                } else {
                    expected_to = to->get<switchboard::UserId>();
                    bool present = false;
                    for (int i = 0; i < 3; ++i)
                        present = present || w.users[i].session->id() == *expected_to;
                    if (!present) {
                        expected_error = "unknown-recipient";
                        expected_to.reset();
                    }
                }
            }
        }
    }

    for (int i = 0; i < 3; ++i) {
        User& u = w.users[i];
        if (u.connection->sent.empty()) continue;
        json got = parse_delivered(u.connection->sent[0], u.name);
        const bool is_error = got.value("type", "") == "error" && !got.contains("from");
        if (is_error) {
            FUZZ_CHECK(&u == &a, std::string("user ") + u.name + " got an error for A's text: " + got.dump());
            auto code = got.value("code", "");
            FUZZ_CHECK(
                !predictable || (expected_error && code == *expected_error),
                "A got error " + code + ", expected " +
                    (expected_error ? *expected_error : "delivery to user " + std::to_string(expected_to.value_or(0))) +
                    "; text: " + printable(text));
            continue;
        }
        FUZZ_CHECK(verdict.accepted, std::string("user ") + u.name + " got " + got.dump() +
                                         " for a text MessageView refused: " + printable(text));
        FUZZ_CHECK(!predictable || (!expected_error && expected_to == u.session->id()),
                   std::string("user ") + u.name + " got A's text, expected " +
                       (expected_error ? "error " + *expected_error : std::string("someone else")) +
                       "; text: " + printable(text));
        auto to = original->find("to");
        FUZZ_CHECK(to != original->end() && to->is_number_unsigned() && to->get<std::uint64_t>() == u.session->id(),
                   std::string("user ") + u.name + " got a text not addressed to it: " + printable(text));
        json expected = *original;
        expected.erase("to");
        expected["from"] = a.session->id();
        FUZZ_CHECK(got == expected, std::string("user ") + u.name + " got " + got.dump() + ", expected " +
                                        expected.dump() + "; text: " + printable(text));
    }
    for (auto& u : w.users)
        u.connection->sent.clear();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const Oracle oracle(text);
    const Verdict verdict = check_parse(text, oracle);
    std::optional<json> original;
    if (verdict.accepted) original = json::parse(text);
    route(text, verdict, original ? &*original : nullptr);

    if (!original || original->contains("to")) return 0;
    // The same object addressed to B: `"to":<B>` right after the opening brace.
    const std::string b = std::to_string(world().users[1].session->id());
    const std::size_t brace = text.find('{');
    std::string spliced =
        text.substr(0, brace + 1) + "\"to\":" + b + (original->empty() ? "" : ",") + text.substr(brace + 1);
    const Oracle spliced_oracle(spliced);
    const Verdict spliced_verdict = check_parse(spliced, spliced_oracle);
    FUZZ_CHECK(spliced_verdict.accepted,
               "MessageView refused the accepted text with `to` added: " + printable(spliced));
    json spliced_original = json::parse(spliced);
    route(spliced, spliced_verdict, &spliced_original);
    return 0;
}

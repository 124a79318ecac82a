// MessageView beside simdjson (issue 14): the JSON work the hub does with
// every routed message, done by our scanner and by simdjson, on the sample
// messages. See bench/README.md for the figures and the decision.
//
// The job per message, as Hub::receive and HubCore::route do it:
//   1. the whole text is JSON (syntax, UTF-8, escapes, numbers too large for
//      a double, nesting at most Limits::max_json_depth), a single object,
//      and no object at any depth has a member name twice;
//   2. `type` is a string, and the validator of that type accepts the message
//      (peer-connect: `desc` is an object with a string `sdp` and a `type`
//      among offer/answer/pranswer/rollback; peer-candidate: `candidate` is
//      null or an object with a string `candidate`);
//   3. `to` is a user ID;
//   4. the routed text is `{"from":N` followed by every member but to/from
//      exactly as received, and `}`.
//
// Implementations:
//   MessageView      MessageView::parse plus the hub's own validators and splice;
//   OnDemand/copy    simdjson On-Demand, after copying the text into a reused
//                    padded buffer (what the hub would have to do: an adapter
//                    hands it a string_view into the transport's buffer);
//   OnDemand/padded  the same on input that already has SIMDJSON_PADDING
//                    after it (no copy: a lower bound for the hub);
//   OnDemand/unchecked-strings  padded, and string values are not unescaped,
//                    so their escapes go unchecked: less work than the job,
//                    shown only to tell where On-Demand's time goes;
//   DOM/copy         simdjson's DOM on the padded copy; the DOM keeps no
//                    source positions, so each member is written again with
//                    simdjson::to_string (the same bytes for compact input).
//
// Before timing anything, main() checks that every implementation produces
// the same routed bytes for every sample, and agrees with MessageView on
// other valid and broken texts; it stops with a message if not.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <switchboard/message_view.hpp>
#include <switchboard/messages.hpp>
#include <switchboard/options.hpp>

#include "detail/routed_text.hpp"
#include "sample_messages.hpp"

namespace {

using switchboard::MessageView;
using switchboard::UserId;
namespace messages = switchboard::messages;
namespace od = simdjson::ondemand;

const int max_depth = switchboard::Limits{}.max_json_depth;
constexpr UserId sender_id = 1;

void append_id(std::string& out, UserId id) {
    char digits[20];
    out.append(digits, static_cast<std::size_t>(std::to_chars(digits, digits + sizeof digits, id).ptr - digits));
}

std::shared_ptr<std::string> start_routed(std::size_t text_size, UserId from) {
    auto out = std::make_shared<std::string>();
    out->reserve(text_size + 24);
    out->append(R"({"from":)");
    append_id(*out, from);
    return out;
}

bool is_description(std::string_view type) {
    return type == messages::PeerConnect::type || type == messages::PeerResponse::type;
}
bool is_candidate(std::string_view type) {
    return type == messages::PeerCandidate::type;
}
bool is_description_type(std::string_view t) {
    return t == "offer" || t == "answer" || t == "pranswer" || t == "rollback";
}

// ---- Ours -------------------------------------------------------------------

/** What Hub::receive and HubCore::route do with the text; nullptr when the hub would refuse it. */
std::shared_ptr<std::string> route_with_message_view(std::string_view text, UserId from, UserId& to) {
    auto view = MessageView::parse(text, max_depth);
    if (!view) return nullptr;
    auto type = view->string("type");
    if (!type) return nullptr;
    std::optional<switchboard::Error> error;
    if (is_description(*type))
        error = messages::validate_description_message(*view);
    else if (is_candidate(*type))
        error = messages::validate_candidate_message(*view);
    if (error) return nullptr;
    auto id = view->uint("to", switchboard::max_user_id);
    if (!id) return nullptr;
    to = *id;
    return switchboard::detail::routed_text(*view, from);  // what the hub sends
}

// ---- Shared by the simdjson routers ------------------------------------------

/**
 * A copy of the text with SIMDJSON_PADDING bytes after it, in a buffer reused
 * from message to message (grown, never shrunk): the cheapest way to hand
 * simdjson text whose buffer the caller does not own.
 */
class PaddedCopy {
public:
    std::string_view load(std::string_view text) {
        if (buffer_.size() < text.size() + simdjson::SIMDJSON_PADDING)
            buffer_.resize(text.size() + simdjson::SIMDJSON_PADDING);
        std::memcpy(buffer_.data(), text.data(), text.size());
        std::memset(buffer_.data() + text.size(), 0, simdjson::SIMDJSON_PADDING);
        return {buffer_.data(), text.size()};
    }
    std::size_t capacity() const noexcept { return buffer_.size(); }

private:
    std::vector<char> buffer_;
};

/**
 * The names of the objects being walked, innermost last; refuses an object
 * with a name twice, by the same rule as MessageView (pairwise for a few
 * members, sorted for many).
 */
class NameStack {
public:
    std::size_t open() const noexcept { return names_.size(); }
    void push(std::string_view name) { names_.push_back(name); }
    /** Closes the object opened at `first`; false if two of its names are equal. */
    bool close(std::size_t first) {
        const std::size_t n = names_.size() - first;
        bool duplicate = false;
        if (n <= 16) {
            for (std::size_t i = first + 1; i < names_.size() && !duplicate; ++i)
                for (std::size_t j = first; j < i && !duplicate; ++j)
                    duplicate = names_[i] == names_[j];
        } else {
            sorted_.assign(names_.begin() + static_cast<std::ptrdiff_t>(first), names_.end());
            std::sort(sorted_.begin(), sorted_.end());
            duplicate = std::adjacent_find(sorted_.begin(), sorted_.end()) != sorted_.end();
        }
        names_.resize(first);
        return !duplicate;
    }
    void clear() noexcept { names_.clear(); }

private:
    std::vector<std::string_view> names_;
    std::vector<std::string_view> sorted_;
};

bool is_ws(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/** What the validators read from the members of `desc` or `candidate`. */
struct Probe {
    bool sdp_is_string = false;
    bool candidate_is_string = false;
    std::optional<std::string_view> type;
};

// ---- simdjson On-Demand ---------------------------------------------------------

/**
 * The job with On-Demand. On-Demand checks only what is read, so every value
 * is visited: each string decoded (that is where its escapes are checked),
 * each number and literal parsed. Raw member text comes from the input
 * positions On-Demand exposes (the key's first byte, each value's first
 * token, and the next token once the value is consumed).
 * `check_strings = false` skips decoding string values (less than the job).
 */
template <bool check_strings>
class OnDemandRouter {
public:
    std::shared_ptr<std::string> route(std::string_view padded, std::size_t capacity, UserId from, UserId& to) {
        od::document doc;
        if (parser_.iterate(padded.data(), padded.size(), capacity).get(doc)) return nullptr;
        od::object top;
        if (doc.get_object().get(top)) return nullptr;
        names_.clear();
        auto out = start_routed(padded.size(), from);
        std::optional<std::string_view> type;
        std::optional<UserId> id;
        Probe desc, candidate;
        od::json_type desc_kind = od::json_type::null, candidate_kind = od::json_type::null;
        bool has_desc = false, has_candidate = false;
        for (auto member : top) {
            od::field f;
            if (std::move(member).get(f)) return nullptr;
            od::value& v = f.value();
            // A scalar's token runs to the next token; a container ends before the
            // token that follows it once walked (On-Demand 3.0.1's get_number does
            // not move past the number, so its location cannot be used for scalars).
            const std::string_view token = v.raw_json_token();
            const char* value_begin = token.data();
            std::string_view raw_key, name;
            if (!member_name(f, value_begin, raw_key, name)) return nullptr;
            names_.push(name);
            Seen seen;
            if (name == "to") {
                std::uint64_t n = 0;
                if (v.type().get(seen.type)) return nullptr;
                if (seen.type == od::json_type::number && !v.get_uint64().get(n)) {
                    if (n <= switchboard::max_user_id) id = n;
                } else if (!value(v, 2, seen, nullptr)) {
                    return nullptr;
                }
            } else if (name == "desc") {
                if (!value(v, 2, seen, &desc)) return nullptr;
                has_desc = true;
                desc_kind = seen.type;
            } else if (name == "candidate") {
                if (!value(v, 2, seen, &candidate)) return nullptr;
                has_candidate = true;
                candidate_kind = seen.type;
            } else {
                if (!value(v, 2, seen, nullptr)) return nullptr;
                if (name == "type" && seen.type == od::json_type::string) type = seen.string;
            }
            if (name == "to" || name == "from") continue;
            const char* value_end = token.data() + token.size();
            if (seen.type == od::json_type::object || seen.type == od::json_type::array)
                if (v.current_location().get(value_end)) return nullptr;
            while (value_end > value_begin && is_ws(value_end[-1]))
                --value_end;
            out->push_back(',');
            out->append(raw_key);
            out->push_back(':');
            out->append(value_begin, static_cast<std::size_t>(value_end - value_begin));
        }
        if (!names_.close(0)) return nullptr;
        // At the end of the text, there is no current location: anything else is trailing content.
        if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return nullptr;

        if (!type) return nullptr;
        if (is_description(*type)) {
            if (!has_desc || desc_kind != od::json_type::object || !desc.sdp_is_string || !desc.type ||
                !is_description_type(*desc.type))
                return nullptr;
        } else if (is_candidate(*type)) {
            if (!has_candidate) return nullptr;
            if (candidate_kind != od::json_type::null &&
                (candidate_kind != od::json_type::object || !candidate.candidate_is_string))
                return nullptr;
        }
        if (!id) return nullptr;
        to = *id;
        out->push_back('}');
        return out;
    }

private:
    struct Seen {
        od::json_type type = od::json_type::null;
        std::string_view string;  ///< decoded, for a string value (in the parser's buffer)
    };

    // The member's name as written (quotes included) and decoded. On-Demand
    // gives the byte after the opening quote; the name ends at the last quote
    // before the ':' that precedes the value.
    static bool member_name(od::field& f, const char* value_begin, std::string_view& raw, std::string_view& name) {
        const char* begin = reinterpret_cast<const char*>(f.key().raw()) - 1;
        const char* end = value_begin - 1;
        while (is_ws(*end))
            --end;
        --end;  // the ':'
        while (is_ws(*end))
            --end;
        raw = std::string_view(begin, static_cast<std::size_t>(end + 1 - begin));
        if (std::memchr(raw.data(), '\\', raw.size()) == nullptr) {
            name = raw.substr(1, raw.size() - 2);
            return true;
        }
        return !f.unescaped_key().get(name);
    }

    // `depth` is the depth of the container this value would open.
    bool value(od::value& v, int depth, Seen& seen, Probe* probe) {
        if (v.type().get(seen.type)) return false;
        switch (seen.type) {
            case od::json_type::object: {
                if (depth > max_depth) return false;
                od::object o;
                if (v.get_object().get(o)) return false;
                return object(o, depth, probe);
            }
            case od::json_type::array: {
                if (depth > max_depth) return false;
                od::array a;
                if (v.get_array().get(a)) return false;
                for (auto element : a) {
                    od::value e;
                    if (element.get(e)) return false;
                    Seen inner;
                    if (!value(e, depth + 1, inner, nullptr)) return false;
                }
                return true;
            }
            case od::json_type::string:
                if constexpr (check_strings) {
                    return !v.get_string().get(seen.string);
                } else {
                    // Undecoded: enough for the plain names compared against (`type`, `desc.type`).
                    std::string_view token = v.raw_json_token();
                    while (!token.empty() && is_ws(token.back()))
                        token.remove_suffix(1);
                    seen.string = token.substr(1, token.size() - 2);
                    od::raw_json_string raw;
                    return !v.get_raw_json_string().get(raw);
                }
            case od::json_type::number: {
                od::number n;
                return !v.get_number().get(n);
            }
            case od::json_type::boolean: {
                bool b;
                return !v.get_bool().get(b);
            }
            case od::json_type::null: {
                bool null = false;
                return !v.is_null().get(null) && null;
            }
        }
        return false;
    }

    bool object(od::object& o, int depth, Probe* probe) {
        const std::size_t first = names_.open();
        for (auto member : o) {
            od::field f;
            if (std::move(member).get(f)) return false;
            od::value& v = f.value();
            std::string_view raw_key, name;
            if (!member_name(f, v.raw_json_token().data(), raw_key, name)) return false;
            names_.push(name);
            Seen seen;
            if (!value(v, depth + 1, seen, nullptr)) return false;
            if (probe && seen.type == od::json_type::string) {
                if (name == "sdp") probe->sdp_is_string = true;
                if (name == "candidate") probe->candidate_is_string = true;
                if (name == "type") probe->type = seen.string;
            }
        }
        return names_.close(first);
    }

    od::parser parser_;
    NameStack names_;
};

// ---- simdjson DOM ------------------------------------------------------------------

/** Appends `s` as a JSON string literal. */
void append_quoted(std::string& out, std::string_view s) {
    out.push_back('"');
    for (char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char u[7];
                    std::snprintf(u, sizeof u, "\\u%04x", static_cast<unsigned>(c));
                    out += u;
                } else {
                    out.push_back(c);
                }
        }
    }
    out.push_back('"');
}

/**
 * The job with the DOM: simdjson parses and checks the whole text into its
 * tape; a walk of the tape checks names and depth; the routed text is written
 * again from the tape.
 */
class DomRouter {
public:
    std::shared_ptr<std::string> route(std::string_view padded, UserId from, UserId& to) {
        simdjson::dom::element root;
        if (parser_.parse(padded.data(), padded.size(), false).get(root)) return nullptr;
        simdjson::dom::object top;
        if (root.get_object().get(top)) return nullptr;
        names_.clear();
        if (!unique_names(root, 1)) return nullptr;
        std::string_view type;
        if (top["type"].get_string().get(type)) return nullptr;
        if (is_description(type)) {
            simdjson::dom::object desc;
            std::string_view sdp, desc_type;
            if (top["desc"].get_object().get(desc) || desc["sdp"].get_string().get(sdp) ||
                desc["type"].get_string().get(desc_type) || !is_description_type(desc_type))
                return nullptr;
        } else if (is_candidate(type)) {
            simdjson::dom::element candidate;
            if (top["candidate"].get(candidate)) return nullptr;
            if (!candidate.is_null()) {
                std::string_view text;
                if (candidate["candidate"].get_string().get(text)) return nullptr;
            }
        }
        std::uint64_t id;
        if (top["to"].get_uint64().get(id) || id > switchboard::max_user_id) return nullptr;
        to = id;
        auto out = start_routed(padded.size(), from);
        for (auto [key, value] : top) {
            if (key == "to" || key == "from") continue;
            out->push_back(',');
            append_quoted(*out, key);
            out->push_back(':');
            out->append(simdjson::to_string(value));
        }
        out->push_back('}');
        return out;
    }

private:
    bool unique_names(simdjson::dom::element e, int depth) {
        switch (e.type()) {
            case simdjson::dom::element_type::OBJECT: {
                if (depth > max_depth) return false;
                simdjson::dom::object o;
                if (e.get_object().get(o)) return false;
                const std::size_t first = names_.open();
                for (auto [key, value] : o) {
                    names_.push(key);
                    if (!unique_names(value, depth + 1)) return false;
                }
                return names_.close(first);
            }
            case simdjson::dom::element_type::ARRAY: {
                if (depth > max_depth) return false;
                simdjson::dom::array a;
                if (e.get_array().get(a)) return false;
                for (auto value : a)
                    if (!unique_names(value, depth + 1)) return false;
                return true;
            }
            default:
                return true;
        }
    }

    simdjson::dom::parser parser_;
    NameStack names_;
};

// ---- The implementations side by side -----------------------------------------

/** A message as the hub receives it, and the same bytes with simdjson's padding after them. */
struct Input {
    explicit Input(std::string t) : text(std::move(t)), padded(text) {}
    std::string text;
    simdjson::padded_string padded;
};

/** One implementation of the job; nullptr when it refuses the message. */
using Router = std::function<std::shared_ptr<std::string>(const Input& in, UserId& to)>;

struct Implementation {
    const char* name;
    Router route;
    bool same_bytes_always;  ///< false: writes members again, so only compact input comes out identical
    bool checks_everything;  ///< false: does less than the job (refuses less)
};

std::vector<Implementation> implementations() {
    static OnDemandRouter<true> on_demand;
    static OnDemandRouter<false> on_demand_unchecked;
    static DomRouter dom;
    static PaddedCopy copy;
    return {
        {"MessageView", [](const Input& in, UserId& to) { return route_with_message_view(in.text, sender_id, to); },
         true, true},
        {"OnDemand/copy",
         [](const Input& in, UserId& to) {
             auto padded = copy.load(in.text);
             return on_demand.route(padded, copy.capacity(), sender_id, to);
         },
         true, true},
        {"OnDemand/padded",
         [](const Input& in, UserId& to) {
             return on_demand.route(in.padded, in.padded.size() + simdjson::SIMDJSON_PADDING, sender_id, to);
         },
         true, true},
        {"OnDemand/unchecked-strings",
         [](const Input& in, UserId& to) {
             return on_demand_unchecked.route(in.padded, in.padded.size() + simdjson::SIMDJSON_PADDING, sender_id, to);
         },
         true, false},
        {"DOM/copy",
         [](const Input& in, UserId& to) {
             auto padded = copy.load(in.text);
             return dom.route(padded, sender_id, to);
         },
         false, true},
    };
}

struct Sample {
    const char* name;
    Input input;
};

/** Timed: what clients send most. */
std::vector<Sample> samples() {
    std::vector<Sample> out;
    out.push_back({"peer-connect", Input(switchboard::bench::description_message(2))});
    out.push_back({"peer-candidate", Input(switchboard::bench::candidate_message(2))});
    out.push_back({"end-of-candidates", Input(R"({"type":"peer-candidate","to":2,"candidate":null})")});
    out.push_back({"app-message", Input(R"({"type":"mute","to":2,"track":"audio","muted":true,"at":1718000000123})")});
    return out;
}

/** Checked, not timed: valid texts the splice must copy byte for byte (whitespace, escaped names, a client `from`). */
std::vector<std::string> other_valid_texts() {
    return {
        R"( { "type" : "mute" , "to" : 2 , "n\u0061me" : [ 1 , { "a" : true } , -0.5e3 ] , "from" : 7 , "x" : "\"\\" } )",
        "{\"type\":\"peer-candidate\",\"candidate\":{\"candidate\":\"\\u00e9\xc3\xa9\"},\n\"to\":\t9007199254740991}",
        R"({"desc":{"sdp":"","type":"answer","extra":[[],{}]},"to":0,"type":"peer-response"})",
    };
}

/** Checked, not timed: texts the hub refuses. */
std::vector<std::string> broken_texts() {
    std::string deep = R"({"type":"mute","to":2,"a":)";
    for (int i = 0; i < 40; ++i)
        deep += '[';
    for (int i = 0; i < 40; ++i)
        deep += ']';
    deep += '}';
    return {
        R"({"type":"peer-candidate","to":2,"candidate":null)",
        R"({"type":"peer-candidate","to":2,"to":3,"candidate":null})",
        R"({"type":"mute","to":2,"a":1,"\u0061":2})",
        R"({"type":"peer-candidate","to":2,"candidate":{"candidate":"a","candidate":"b"}})",
        R"({"type":"peer-connect","to":2,"desc":{"type":"offer","sdp":"v=0\q"}})",
        R"({"type":"peer-connect","to":2,"desc":{"type":"offer","sdp":"\ud800"}})",
        "{\"type\":\"peer-connect\",\"to\":2,\"desc\":{\"type\":\"offer\",\"sdp\":\"\xff\"}}",
        "{\"type\":\"mute\",\"to\":2,\"a\":\"\x01\"}",
        R"({"type":"peer-connect","to":2,"desc":{"type":"offer"}})",
        R"({"type":"peer-connect","to":2,"desc":{"type":"bogus","sdp":""}})",
        R"({"type":"peer-connect","to":2,"desc":"offer"})",
        R"({"type":"peer-candidate","to":2,"candidate":{"sdpMid":"0"}})",
        R"({"type":"peer-candidate","to":2})",
        R"({"type":"peer-candidate","to":-1,"candidate":null})",
        R"({"type":"peer-candidate","to":1.0,"candidate":null})",
        R"({"type":"peer-candidate","to":9007199254740992,"candidate":null})",
        R"({"type":"peer-candidate","candidate":null})",
        R"({"type":7,"to":2})",
        R"({"type":"peer-candidate","to":2,"candidate":null} x)",
        R"({"type":"peer-candidate","to":2,"candidate":null}})",
        R"(["type","peer-candidate"])",
        R"({"type":"mute","to":2,"x":1e999})",
        R"({"type":"mute","to":2,"x":tru})",
        R"({"type":"mute","to":2,"x":[1,2,]})",
        R"({"type":"mute","to":2,"x":01})",
        R"({"type":"mute","to":2,})",
        R"({"type":"mute","to":2 "x":1})",
        R"({"type":"mute","to"2})",
        deep,
        "",
    };
}

std::string shown(const std::shared_ptr<std::string>& out, UserId to) {
    if (!out) return "(refused)";
    std::string s = "to " + std::to_string(to) + ": " + *out;
    return s.size() > 300 ? s.substr(0, 300) + "..." : s;
}

/** Every implementation against MessageView; prints each disagreement and returns how many there were. */
int check_agreement() {
    auto impls = implementations();
    const auto& ours = impls.front();
    int failures = 0;
    auto compare = [&](const std::string& text, const char* what, bool compact) {
        const Input in(text);
        UserId expected_to = 0;
        auto expected = ours.route(in, expected_to);
        for (const auto& impl : impls) {
            if (&impl == &ours) continue;
            if (!expected && !impl.checks_everything) continue;  // it refuses less, by design
            UserId to = 0;
            auto out = impl.route(in, to);
            bool same = (out == nullptr) == (expected == nullptr) &&
                        (!out || (to == expected_to && (*out == *expected || (!compact && !impl.same_bytes_always))));
            if (!same) {
                ++failures;
                std::fprintf(stderr,
                             "%s differs from MessageView on %s:\n  text:        %s\n  MessageView: %s\n  %s: %s\n",
                             impl.name, what, text.substr(0, 300).c_str(), shown(expected, expected_to).c_str(),
                             impl.name, shown(out, to).c_str());
            }
        }
        return expected != nullptr;
    };
    for (const auto& s : samples())
        if (!compare(s.input.text, s.name, true)) {
            ++failures;
            std::fprintf(stderr, "MessageView refuses the sample %s\n", s.name);
        }
    for (const auto& t : other_valid_texts())
        if (!compare(t, "a valid text", false)) {
            ++failures;
            std::fprintf(stderr, "MessageView refuses a valid text: %s\n", t.c_str());
        }
    for (const auto& t : broken_texts())
        if (compare(t, "a broken text", true)) {
            ++failures;
            std::fprintf(stderr, "MessageView accepts a broken text: %s\n", t.c_str());
        }
    return failures;
}

}  // namespace

int main(int argc, char** argv) {
    if (int failures = check_agreement()) {
        std::fprintf(stderr,
                     "json_scanner_bench: %d disagreement(s) between the implementations; not timing work that "
                     "differs\n",
                     failures);
        return 1;
    }
    benchmark::AddCustomContext("simdjson", SIMDJSON_STRINGIFY(SIMDJSON_VERSION));
    // Stage 1 and string decoding go through the runtime-dispatched kernel in
    // libsimdjson; On-Demand's navigation is compiled here, for the target
    // this file is compiled for (fallback unless -march allows PCLMUL).
    benchmark::AddCustomContext("simdjson stage 1, string decoding, DOM (runtime dispatch)",
                                simdjson::get_active_implementation()->name());
    benchmark::AddCustomContext("simdjson On-Demand navigation (compile time)",
                                SIMDJSON_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION));
    static const auto all_samples = samples();
    static const auto impls = implementations();
    for (const auto& sample : all_samples)
        for (const auto& impl : impls)
            benchmark::RegisterBenchmark(
                (std::string(impl.name) + "/" + sample.name).c_str(), [&sample, &impl](benchmark::State& state) {
                    for (auto _ : state) {
                        UserId to = 0;
                        auto out = impl.route(sample.input, to);
                        benchmark::DoNotOptimize(out);
                    }
                    state.SetItemsProcessed(state.iterations());
                    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(sample.input.text.size()));
                });
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

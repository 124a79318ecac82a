// MessageView: the one-pass checker every incoming text goes through.
#include <switchboard/message_view.hpp>

#include <random>
#include <set>
#include <string>

#include "unit_helpers.hpp"

using namespace switchboard;
using nlohmann::json;

namespace {

/** The error MessageView::parse refuses `text` with, checking that it does refuse it. */
Error refusal(std::string_view text, int max_depth) {
    auto parsed = MessageView::parse(text, max_depth);
    CHECK_FALSE(parsed);
    return parsed.error();
}

std::string nested(int depth) {
    // `depth` levels in total: the outer object plus depth-1 arrays.
    std::string text = R"({"a":)";
    for (int i = 1; i < depth; ++i)
        text += '[';
    for (int i = 1; i < depth; ++i)
        text += ']';
    if (depth == 1) text += "1";
    text += '}';
    return text;
}

/** The text with every byte outside printable ASCII shown as \xHH. */
std::string hex(std::string_view text) {
    std::string out;
    for (char c : text) {
        auto b = static_cast<unsigned char>(c);
        if (b >= 0x20 && b < 0x7F)
            out += c;
        else
            out += fmt::format("\\x{:02X}", b);
    }
    return out;
}

/** True when some object in the (valid JSON) text has two members of the same name. */
bool has_duplicate_names(const std::string& text) {
    struct Sax : nlohmann::json_sax<json> {
        std::vector<std::set<std::string>> names;
        bool duplicate = false;
        bool null() override { return true; }
        bool boolean(bool) override { return true; }
        bool number_integer(number_integer_t) override { return true; }
        bool number_unsigned(number_unsigned_t) override { return true; }
        bool number_float(number_float_t, const string_t&) override { return true; }
        bool string(string_t&) override { return true; }
        bool binary(binary_t&) override { return true; }
        bool start_object(std::size_t) override {
            names.emplace_back();
            return true;
        }
        bool key(string_t& k) override {
            duplicate = duplicate || !names.back().insert(k).second;
            return true;
        }
        bool end_object() override {
            names.pop_back();
            return true;
        }
        bool start_array(std::size_t) override { return true; }
        bool end_array() override { return true; }
        bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
    } sax;
    json::sax_parse(text, &sax);
    return sax.duplicate;
}

}  // namespace

TEST_CASE("MessageView records members in order", "[view]") {
    std::string text = R"( {"type":"x", "n" : 1.50e+10 ,"o":{ "k" : [1, 2] },"z":"y"} )";
    auto view = MessageView::parse(text, 32);
    REQUIRE(view);
    CHECK(view->text() == text);
    REQUIRE(view->members().size() == 4);
    CHECK(view->members()[0].key() == "type");
    CHECK(view->members()[0].raw_key == R"("type")");
    CHECK(view->members()[0].value == R"("x")");
    CHECK(view->members()[1].value == "1.50e+10");
    CHECK(view->members()[2].value == R"({ "k" : [1, 2] })");
    CHECK(view->members()[3].value == R"("y")");
}

TEST_CASE("MessageView refuses a duplicate member name at any depth", "[view][duplicates]") {
    const char* texts[] = {
        R"({"type":"a","to":1,"type":"b"})",
        R"({"type":"user-left","userId":5,"type":"peer-candidate","to":3,"candidate":null})",
        R"({"type":"peer-connect","to":1,"desc":{"type":"offer","sdp":"x"},"desc":{"sdp":"y"}})",
        R"({"type":"peer-connect","to":1,"desc":{"type":"offer","sdp":"x","type":"answer"}})",
        R"({"a":[1,{"b":{"c":1,"c":2}}]})",
        R"({"type":"peer-connect","type":"login"})",  // equal once decoded
        R"({"to":1,"to":2})",
        R"({"o":{"k":"v","k":"w"}})",
        R"({"":1,"":2})",
    };
    for (const char* text : texts) {
        INFO(text);
        auto error = refusal(text, 32);
        CHECK(error.code == "invalid-message");
        CHECK(error.message.find("appears twice") != std::string::npos);
    }
    // Text that is not JSON is invalid-json, whatever duplicates it has (found by the fuzzer).
    for (const char* text : {R"({"a":1,"a":2}})", R"({"x":{"a":1,"a":2},)"}) {
        INFO(text);
        auto error = refusal(text, 32);
        CHECK(error.code == "invalid-json");
    }
    // Same names in different objects, or differing only in case, are fine.
    CHECK(MessageView::parse(R"({"type":"t","o":{"type":1,"p":{"type":2}},"a":[{"k":1},{"k":2}],"Type":3})", 32));
}

TEST_CASE("MessageView finds a duplicate among many members quickly", "[view][duplicates]") {
    std::string many = "{";
    for (int i = 0; i < 5000; ++i)
        many += fmt::format(R"("k{}":0,)", i);
    std::string unique = many + R"("last":1})";
    CHECK(MessageView::parse(unique, 32));
    std::string twice = many + R"("k2500":1})";
    auto error = refusal(twice, 32);
    CHECK(error.message.find(R"("k2500")") != std::string::npos);
    std::string nested = R"({"o":)" + twice + "}";
    error = refusal(nested, 32);
    CHECK(error.code == "invalid-message");
}

TEST_CASE("MessageView decodes escaped keys and compares them decoded", "[view]") {
    auto view = MessageView::parse(R"({"fr\u006fm":5,"t\u006F":3,"\"q\"":true})", 32);
    REQUIRE(view);
    REQUIRE(view->members().size() == 3);
    CHECK(view->members()[0].raw_key == R"("fr\u006fm")");
    CHECK(view->members()[0].key() == "from");
    CHECK(view->uint("to", max_user_id) == std::optional<std::uint64_t>(3));
    CHECK(view->raw("\"q\"") == std::optional<std::string_view>("true"));
}

TEST_CASE("MessageView::string decodes escapes and refuses non-strings", "[view]") {
    auto view = MessageView::parse(R"({"a":"plain","b":"tab\tq\"\u00e9\ud83d\ude00","c":1,"d":null,"e":["x"]})", 32);
    REQUIRE(view);
    CHECK(view->string("a") == std::optional<std::string>("plain"));
    CHECK(view->string("b") == std::optional<std::string>("tab\tq\"\xC3\xA9\xF0\x9F\x98\x80"));
    CHECK_FALSE(view->string("c"));
    CHECK_FALSE(view->string("d"));
    CHECK_FALSE(view->string("e"));
    CHECK_FALSE(view->string("missing"));
}

TEST_CASE("MessageView::uint accepts only plain digits within the bound", "[view]") {
    auto uint_of = [](std::string value, std::uint64_t max = max_user_id) {
        // The view points into the text: keep it alive.
        std::string text = R"({"to":)" + value + "}";
        auto view = MessageView::parse(text, 32);
        REQUIRE(view);
        return view->uint("to", max);
    };
    CHECK(uint_of("0") == std::optional<std::uint64_t>(0));
    CHECK(uint_of("42") == std::optional<std::uint64_t>(42));
    CHECK(uint_of("9007199254740991") == std::optional<std::uint64_t>(max_user_id));
    CHECK_FALSE(uint_of("9007199254740992"));
    CHECK(uint_of("18446744073709551615", UINT64_MAX) == std::optional<std::uint64_t>(UINT64_MAX));
    CHECK_FALSE(uint_of("18446744073709551616", UINT64_MAX));
    CHECK_FALSE(uint_of("99999999999999999999999", UINT64_MAX));
    CHECK_FALSE(uint_of("-1"));
    CHECK_FALSE(uint_of("-0"));
    CHECK_FALSE(uint_of("1.0"));
    CHECK_FALSE(uint_of("1e3"));
    CHECK_FALSE(uint_of("1E3"));
    CHECK_FALSE(uint_of(R"("3")"));
    CHECK_FALSE(uint_of("null"));
    CHECK_FALSE(uint_of("true"));
    CHECK_FALSE(uint_of("[3]"));
    CHECK_FALSE(uint_of("{}"));
    CHECK(uint_of("10", 10) == std::optional<std::uint64_t>(10));
    CHECK_FALSE(uint_of("11", 10));
}

TEST_CASE("MessageView::object and is_null", "[view]") {
    auto view = MessageView::parse(R"({"o":{"k":"v","j":"w"},"n":null,"s":"null","a":[]})", 32);
    REQUIRE(view);
    auto o = view->object("o");
    REQUIRE(o);
    CHECK(o->string("k") == std::optional<std::string>("v"));
    CHECK(o->members().size() == 2);
    CHECK_FALSE(view->object("n"));
    CHECK_FALSE(view->object("a"));
    CHECK_FALSE(view->object("missing"));
    CHECK(view->is_null("n"));
    CHECK_FALSE(view->is_null("s"));
    CHECK_FALSE(view->is_null("missing"));
    CHECK(view->is_string("s"));
    CHECK_FALSE(view->is_string("n"));
    CHECK_FALSE(view->is_string("o"));
    CHECK_FALSE(view->is_string("missing"));
}

TEST_CASE("MessageView::json parses the whole text once", "[view]") {
    auto view = MessageView::parse(R"({"type":"t","n":[1,{"x":true}]})", 32);
    REQUIRE(view);
    const json& j = view->json();
    CHECK(j == json::parse(R"({"type":"t","n":[1,{"x":true}]})"));
    CHECK(&view->json() == &j);
}

TEST_CASE("MessageView accepts every JSON value form inside an object", "[view]") {
    for (const char* text :
         {R"({})", " \t\r\n{ } \n", R"({"":""})", R"({"a":-0.5E-3,"b":0,"c":-12,"d":1e+2})",
          R"({"a":true,"b":false,"c":null,"d":[],"e":[[],{}]})", R"({"s":"\"\\\/\b\f\n\r\t\u0000\uFFFF"})",
          "{\"u\":\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"}", "{\"u\":\"\xEF\xBF\xBF\xF4\x8F\xBF\xBF\"}"}) {
        INFO(text);
        auto parsed = MessageView::parse(text, 32);
        CHECK(parsed);
        CHECK(parsed.error().message.empty());
    }
}

TEST_CASE("MessageView rejects text that is not JSON, with a reason", "[view]") {
    std::vector<std::string> texts = {"",
                                      "   ",
                                      "{",
                                      "}",
                                      R"({"a")",
                                      R"({"a":})",
                                      R"({"a":1,})",
                                      R"({"a":1 "b":2})",
                                      R"({a:1})",
                                      "{'a':1}",
                                      R"({"a":[1,]})",
                                      R"({"a":[1 2]})",
                                      R"({"a":01})",
                                      R"({"a":1.})",
                                      R"({"a":.5})",
                                      R"({"a":+1})",
                                      R"({"a":1e})",
                                      R"({"a":-})",
                                      R"({"a":NaN})",
                                      R"({"a":Infinity})",
                                      R"({"a":tru})",
                                      R"({"a":nul})",
                                      R"({"a":"\x"})",
                                      R"({"a":"\u12"})",
                                      R"({"a":"\u12G4"})",
                                      "{\"a\":\"tab\tinside\"}",
                                      "{\"a\":\"line\nbreak\"}",
                                      R"({"a":"unterminated})",
                                      R"({"a":1}x)",
                                      R"({"a":1}{})",
                                      R"({"a":1},)",
                                      R"({"a":1} [])",
                                      std::string("{\"a\":1}\0", 8),
                                      std::string("{\"a\":\"\0\"}", 9)};
    for (const auto& text : texts) {
        INFO("text: " << hex(text));
        auto error = refusal(text, 32);
        CHECK_FALSE(error.message.empty());
        CHECK(error.code == "invalid-json");
    }
}

TEST_CASE("MessageView rejects invalid UTF-8 anywhere in strings", "[view][utf8]") {
    const char* bad[] = {
        "\xFF",              // never valid
        "\x80",              // lone continuation byte
        "\xC0\xAF",          // overlong '/'
        "\xC1\xBF",          // overlong
        "\xE0\x80\xAF",      // overlong 3-byte
        "\xF0\x80\x80\xAF",  // overlong 4-byte
        "\xED\xA0\x80",      // UTF-16 surrogate encoded in UTF-8
        "\xF4\x90\x80\x80",  // above U+10FFFF
        "\xF5\x80\x80\x80",  // invalid lead byte
        "\xC3",              // truncated at the end of the string
        "\xE2\x82",          // truncated
        "\xC3\x28",          // bad continuation
    };
    for (const char* bytes : bad) {
        for (auto text : {std::string(R"({"v":")") + bytes + "\"}", std::string("{\"") + bytes + "\":1}"}) {
            INFO("text: " << hex(text));
            auto error = refusal(text, 32);
            CHECK(error.code == "invalid-json");
            CHECK(error.message.find("UTF-8") != std::string::npos);
        }
    }
}

TEST_CASE("MessageView rejects lone UTF-16 surrogate escapes", "[view][utf8]") {
    for (const char* text : {R"({"v":"\ud800"})", R"({"v":"\uDBFF"})", R"({"v":"\udc00"})", R"({"v":"\ude00\ud83d"})",
                             R"({"v":"\ud800\u0041"})", R"({"v":"\ud800\ud800"})", R"({"v":"\ud800x"})",
                             R"({"\ud800":1})", R"({"v":"\ud800\n"})"}) {
        INFO(text);
        auto error = refusal(text, 32);
        CHECK(error.message.find("surrogate") != std::string::npos);
    }
    CHECK(MessageView::parse(R"({"v":"\ud83d\ude00","w":"\uDBFF\uDFFF"})", 32));
}

TEST_CASE("MessageView tells a non-object apart from non-JSON", "[view]") {
    for (const char* text : {"[]", "[1,2]", "1", "-2.5", R"("type")", "null", "true", " false "}) {
        INFO(text);
        auto error = refusal(text, 32);
        CHECK(error.code == "invalid-message");
        CHECK_FALSE(error.message.empty());
    }
    auto error = refusal("[1,", 32);
    CHECK(error.code == "invalid-json");
}

TEST_CASE("MessageView enforces the nesting depth, the message itself being 1", "[view][limits]") {
    CHECK(MessageView::parse(nested(1), 1));
    CHECK(MessageView::parse(nested(2), 2));
    CHECK_FALSE(MessageView::parse(nested(2), 1));
    CHECK(MessageView::parse(nested(32), 32));
    auto error = refusal(nested(33), 32);
    CHECK(error.code == "invalid-json");
    CHECK(error.message.find("deeper") != std::string::npos);
    // Objects count like arrays.
    CHECK(MessageView::parse(R"({"a":{"b":{}}})", 3));
    CHECK_FALSE(MessageView::parse(R"({"a":{"b":{}}})", 2));
    // A non-object top level is checked too.
    error = refusal("[[[]]]", 2);
    CHECK(error.code == "invalid-json");
}

TEST_CASE("MessageView survives hostile nesting without recursing without bound", "[view][limits]") {
    std::string deep(200000, '[');
    CHECK_FALSE(MessageView::parse(deep, 32));
    std::string deep_objects;
    for (int i = 0; i < 100000; ++i)
        deep_objects += R"({"a":)";
    CHECK_FALSE(MessageView::parse(deep_objects, 32));
}

TEST_CASE("a view that parses can always be turned into nlohmann::json", "[view]") {
    // Validators and host handlers call json() on any accepted view; the local
    // participant's connection parses every routed text with nlohmann. A text
    // the view accepts must therefore not make nlohmann throw.
    for (const char* text : {R"({"n":1e400})", R"({"n":-1e999})"}) {
        INFO(text);
        auto view = MessageView::parse(text, 32);
        if (view) CHECK_NOTHROW(view->json());
    }
}

namespace {

/** Random JSON-ish text, mostly valid, sometimes not, for differential checks against nlohmann. */
class TextGenerator {
public:
    explicit TextGenerator(unsigned seed) : rng_(seed) {}

    std::string object(int depth) {
        std::string out = "{" + ws();
        int n = roll(5);
        for (int i = 0; i < n; ++i) {
            if (i) out += "," + ws();
            out += key() + ws() + ":" + ws() + value(depth + 1) + ws();
        }
        return out + "}";
    }

private:
    int roll(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

    std::string ws() {
        static const char* const forms[] = {"", "", "", " ", "\n", "\t ", "\r\n  "};
        return forms[roll(7)];
    }

    std::string key() {
        static const char* const keys[] = {R"("type")", R"("to")",  R"("from")", R"("fr\u006fm")",
                                           R"("desc")", R"("sdp")", R"("k")",    R"("")"};
        return roll(4) == 0 ? string() : keys[roll(8)];
    }

    std::string value(int depth) {
        switch (roll(depth > 6 ? 3 : 6)) {
            case 0:
                return string();
            case 1: {
                static const char* const numbers[] = {"0",   "-0", "12", "-3.25", "1e5", "1.50e+10", "2E-3",
                                                      "0.5", "01", "1.", "+1",    "-",   "1e",       "123456789"};
                return numbers[roll(roll(8) == 0 ? 14 : 8)];
            }
            case 2: {
                static const char* const literals[] = {"true", "false", "null", "nul", "True"};
                return literals[roll(roll(10) == 0 ? 5 : 3)];
            }
            case 3:
            case 4:
                return object(depth);
            default: {
                std::string out = "[" + ws();
                int n = roll(4);
                for (int i = 0; i < n; ++i) {
                    if (i) out += "," + ws();
                    out += value(depth + 1) + ws();
                }
                return out + "]";
            }
        }
    }

    std::string string() {
        std::string out = "\"";
        int pieces = roll(3) == 0 ? roll(40) : roll(8);
        for (int i = 0; i < pieces; ++i) {
            int kind = roll(100);
            if (kind < 55) {
                out += static_cast<char>('a' + roll(26));
            } else if (kind < 65) {
                static const char* const escapes[] = {"\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"};
                out += escapes[roll(8)];
            } else if (kind < 70) {
                out += fmt::format("\\u{:04x}", 0x20 + roll(0xD7FF - 0x20));
            } else if (kind < 74) {
                auto high = 0xD800 + roll(0x400), low = 0xDC00 + roll(0x400);
                out += roll(2) ? fmt::format("\\u{:04X}\\u{:04x}", high, low)
                               : fmt::format("\\u{:04x}\\u{:04X}", high, low);
            } else if (kind < 84) {
                static const char* const utf8[] = {"\xC3\xA9",     "\xE2\x82\xAC",     "\xF0\x9F\x98\x80",
                                                   "\xEF\xBF\xBD", "\xF4\x8F\xBF\xBF", "\xDF\xBF",
                                                   "\xE0\xA0\x80", "\xED\x9F\xBF"};
                out += utf8[roll(8)];
            } else if (kind < 97) {
                out += " ";
            } else {
                // Occasionally something invalid.
                static const char* const bad[] = {"\\ud800",
                                                  "\\udc00",
                                                  "\\x",
                                                  "\\u12",
                                                  "\x01",
                                                  "\x1f",
                                                  "\x7f\xFF",
                                                  "\xC0\xAF",
                                                  "\xED\xA0\x80",
                                                  "\xE2\x82",
                                                  "\xF8\x88\x80\x80\x80",
                                                  "\n"};
                out += bad[roll(12)];
            }
        }
        return out + "\"";
    }

    std::mt19937 rng_;
};

}  // namespace

TEST_CASE("MessageView agrees with nlohmann on random texts", "[view][differential]") {
    TextGenerator gen(20240601);
    int accepted = 0, rejected = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string text = gen.object(1);
        INFO("text: " << hex(text));
        bool reference = json::accept(text) && !has_duplicate_names(text);
        auto view = MessageView::parse(text, 64);
        REQUIRE(bool(view) == reference);
        if (!view) {
            ++rejected;
            continue;
        }
        ++accepted;
        auto j = json::parse(text);
        REQUIRE(view->json() == j);
        for (auto& [key, value] : j.items()) {
            INFO("key: " << hex(key));
            auto raw = view->raw(key);
            REQUIRE(raw);
            CHECK(json::parse(*raw) == value);
            if (value.is_string()) {
                CHECK(view->string(key) == std::optional<std::string>(value.get<std::string>()));
            } else {
                CHECK_FALSE(view->string(key));
            }
            CHECK(view->is_null(key) == value.is_null());
            CHECK(view->is_string(key) == value.is_string());
            auto nested = view->object(key);
            CHECK(bool(nested) == value.is_object());
            if (nested) {
                for (auto& [inner_key, inner_value] : value.items()) {
                    auto inner_raw = nested->raw(inner_key);
                    REQUIRE(inner_raw);
                    CHECK(json::parse(*inner_raw) == inner_value);
                    if (inner_value.is_string())
                        CHECK(nested->string(inner_key) == std::optional<std::string>(inner_value.get<std::string>()));
                }
            }
        }
    }
    // The generator exercises both sides.
    CHECK(accepted > 500);
    CHECK(rejected > 200);
}

TEST_CASE("MessageView finds a special byte at every offset of a long string", "[view][differential]") {
    // Strings are scanned several bytes at a time: put each kind of special
    // byte at every position of strings of many lengths.
    const std::pair<std::string, bool> specials[] = {
        {"\"", false},  {"\\\\", true},     {"\\n", true},   {"\x01", false}, {"\x1f", false},   {" ", true},
        {"\x7f", true}, {"\xC3\xA9", true}, {"\xFF", false}, {"\xC3", false}, {"\\u00e9", true}, {"\\ud800", false}};
    for (std::size_t length = 0; length <= 24; ++length) {
        for (std::size_t at = 0; at <= length; ++at) {
            for (const auto& [special, valid] : specials) {
                std::string content = std::string(at, 'a') + special + std::string(length - at, 'b');
                std::string text = R"({"k":")" + content + R"(","after":1})";
                INFO("text: " << hex(text));
                auto view = MessageView::parse(text, 32);
                REQUIRE(bool(view) == valid);
                REQUIRE(json::accept(text) == valid);
                if (view) {
                    CHECK(view->string("k") ==
                          std::optional<std::string>(json::parse(text).at("k").get<std::string>()));
                    CHECK(view->raw("after") == std::optional<std::string_view>("1"));
                }
            }
        }
    }
}

TEST_CASE("MessageView handles runs of escapes at every offset, nested objects included", "[view][differential]") {
    // Several escapes in one scanned block, escapes cut by a block edge, and
    // backslash runs of both parities before a quote (which is then escaped
    // or closes the string).
    const std::string runs[] = {R"(\r\n)",     R"(\r\na=\r\n)", R"(\")",
                                R"(\\)",       R"(\\\")",       R"(\\\\)",
                                R"(\/\b\f\t)", R"(\u00e9\n)",   R"(\n\n\n\n\n\n\n\n\n)"};
    for (std::size_t at = 0; at <= 40; ++at) {
        for (const auto& run : runs) {
            std::string content = std::string(at, 'a') + run + std::string(40 - at, 'b') + run;
            std::string text = R"({"desc":{"sdp":")" + content + R"(","type":"offer"},"k":")" + content + R"("})";
            INFO("text: " << text);
            auto view = MessageView::parse(text, 32);
            REQUIRE(view);
            auto j = json::parse(text);
            CHECK(view->string("k") == std::optional<std::string>(j.at("k").get<std::string>()));
            auto desc = view->object("desc");
            REQUIRE(desc);
            REQUIRE(desc->members().size() == 2);
            CHECK(desc->string("sdp") == std::optional<std::string>(j.at("desc").at("sdp").get<std::string>()));
            CHECK(desc->string("type") == std::optional<std::string>("offer"));
            // The same content with one escape broken is refused.
            std::string bad = R"({"k":")" + std::string(at, 'a') + run + R"(\x"})";
            CHECK_FALSE(MessageView::parse(bad, 32));
        }
    }
}

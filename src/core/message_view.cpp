// One-pass JSON checker behind MessageView: validates syntax, UTF-8 and depth
// and records the top-level members, without allocating a DOM.
#include <switchboard/message_view.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <nlohmann/json.hpp>

#include "detail/utf8.hpp"

namespace switchboard {
namespace {

constexpr std::uint64_t ones = 0x0101010101010101ULL;
constexpr std::uint64_t highs = 0x8080808080808080ULL;

inline std::uint64_t load8(const char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
}

// Bytes of `w` equal to `c`: the lowest flagged byte is exact (higher ones
// may be false positives), which is all a forward search needs.
inline std::uint64_t bytes_equal(std::uint64_t w, unsigned char c) {
    std::uint64_t x = w ^ (ones * c);
    return (x - ones) & ~x & highs;
}

#if defined(__SSE2__)
// Bit i is set when byte i of the sixteen at p is '"' or '\\' (and, when
// `strict`, a control character or non-ASCII).
template <bool strict>
inline unsigned special_mask16(const char* p) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    // Signed compare: below 0x20 and, as negative bytes, 0x80 and above.
    if (strict) hit = _mm_or_si128(hit, _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
    return static_cast<unsigned>(_mm_movemask_epi8(hit));
}
#endif

// The first byte in [p, end) that is '"' or '\\' (and, when
// `strict`, a control character or non-ASCII), or end if none: sixteen
// (SSE2) or eight bytes per step instead of one.
template <bool strict>
inline const char* find_string_special(const char* p, const char* end) {
#if defined(__SSE2__)
    while (end - p >= 16) {
        if (auto mask = special_mask16<strict>(p)) return p + __builtin_ctz(mask);
        p += 16;
    }
#elif defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (end - p >= 8) {
        std::uint64_t w = load8(p);
        std::uint64_t m = bytes_equal(w, '"') | bytes_equal(w, '\\');
        if (strict) m |= ((w - ones * 0x20) & ~w & highs) | (w & highs);
        if (m != 0) return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#endif
    while (p != end) {
        auto c = static_cast<unsigned char>(*p);
        if (c == '"' || c == '\\' || (strict && (c < 0x20 || c >= 0x80))) break;
        ++p;
    }
    return p;
}

std::string decode_valid_string(std::string_view quoted);

class Scanner {
public:
    Scanner(std::string_view text, int max_depth)
        : p_(text.data()),
          end_(text.data() + text.size()),
          max_depth_(max_depth),
          keys_(scratch().keys),
          sorted_(scratch().sorted),
          decoded_keys_(scratch().decoded) {
        keys_.clear();
        decoded_keys_.clear();
    }

    const char* p_;
    const char* end_;
    int max_depth_;
    std::string error;
    /** Why the text, if it is JSON, breaks our rule of unique member names; empty when it does not. */
    std::string duplicate;

    const char* begin_ = p_;

    bool fail(const char* what) {
        if (error.empty()) error = std::string(what) + " (at byte " + std::to_string(p_ - begin_) + ")";
        return false;
    }

    void skip_ws() {
        while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t'))
            ++p_;
    }

    // Validates one UTF-8 sequence starting at p_ (a non-ASCII lead byte).
    bool utf8_sequence() {
        const auto* p = reinterpret_cast<const unsigned char*>(p_);
        const std::size_t n = detail::utf8_sequence_length(p, p + (end_ - p_));
        if (n == 0) return fail("the text is not valid UTF-8");
        p_ += n;
        return true;
    }

    // p_ at a backslash-u escape; reads its four hex digits into `unit`.
    bool hex4(unsigned& unit) {
        if (end_ - p_ < 6) return false;
        unit = 0;
        for (int i = 2; i < 6; ++i) {
            char c = p_[i];
            unit <<= 4;
            if (c >= '0' && c <= '9')
                unit |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f')
                unit |= static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                unit |= static_cast<unsigned>(c - 'A' + 10);
            else
                return false;
        }
        p_ += 6;
        return true;
    }

    // Advances p_ over plain ASCII and two-character escapes (\n, \", ...) to
    // the first byte that needs a closer look: a quote, a control character,
    // a non-ASCII byte, a \u escape, a bad escape, or a backslash at the end
    // of a sixteen-byte block. SDP escapes a line break every 30 to 70 bytes;
    // stepping over those inside the block keeps the scan at block speed.
    void skip_plain(bool* has_escape) {
#if defined(__SSE2__)
        while (end_ - p_ >= 16) {
            auto mask = special_mask16<true>(p_);
            while (mask != 0) {
                auto i = static_cast<unsigned>(__builtin_ctz(mask));
                if (p_[i] != '\\' || i == 15 || !simple_escape(p_[i + 1])) {
                    p_ += i;
                    return;
                }
                if (has_escape) *has_escape = true;
                mask &= ~(3u << i);  // the backslash and the character it escapes
            }
            p_ += 16;
        }
#else
        (void)has_escape;
#endif
        p_ = find_string_special<true>(p_, end_);
    }

    static bool simple_escape(char c) {
        switch (c) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                return true;
            default:
                return false;
        }
    }

    // p_ at the opening quote. On success p_ is past the closing quote.
    bool string(bool* has_escape = nullptr) {
        ++p_;
        for (;;) {
            skip_plain(has_escape);
            if (p_ == end_) return fail("a string is not terminated");
            auto c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                ++p_;
                return true;
            }
            if (c < 0x20) return fail("a string contains a raw control character");
            if (c >= 0x80) {
                if (!utf8_sequence()) return false;
                continue;
            }
            // Backslash.
            if (has_escape) *has_escape = true;
            if (end_ - p_ < 2) return fail("a string is not terminated");
            if (simple_escape(p_[1])) {
                p_ += 2;
                continue;
            }
            if (p_[1] != 'u') return fail("a string has an unknown escape");
            unsigned unit = 0;
            if (!hex4(unit)) return fail("a string has a bad \\u escape");
            if (unit >= 0xDC00 && unit <= 0xDFFF) return fail("a string has a lone UTF-16 surrogate");
            if (unit >= 0xD800 && unit <= 0xDBFF) {
                unsigned low = 0;
                if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u' || !hex4(low) || low < 0xDC00 || low > 0xDFFF)
                    return fail("a string has a lone UTF-16 surrogate");
            }
        }
    }

    bool number() {
        const char* start = p_;
        if (!number_syntax()) return false;
        // Only an exponent or a very long integer part can overflow a double,
        // which JSON libraries (nlohmann included) refuse; check just those.
        auto n = static_cast<std::size_t>(p_ - start);
        if (n > 300 || std::memchr(start, 'e', n) != nullptr || std::memchr(start, 'E', n) != nullptr) {
            if (std::isinf(std::strtod(std::string(start, n).c_str(), nullptr)))
                return fail("a number is too large for a double");
        }
        return true;
    }

    bool number_syntax() {
        if (p_ != end_ && *p_ == '-') ++p_;
        if (p_ == end_) return fail("a number is cut short");
        if (*p_ == '0') {
            ++p_;
        } else if (*p_ >= '1' && *p_ <= '9') {
            while (p_ != end_ && *p_ >= '0' && *p_ <= '9')
                ++p_;
        } else {
            return fail("unexpected character");
        }
        if (p_ != end_ && *p_ == '.') {
            ++p_;
            if (p_ == end_ || *p_ < '0' || *p_ > '9') return fail("a number has no digits after '.'");
            while (p_ != end_ && *p_ >= '0' && *p_ <= '9')
                ++p_;
        }
        if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
            ++p_;
            if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
            if (p_ == end_ || *p_ < '0' || *p_ > '9') return fail("a number has no exponent digits");
            while (p_ != end_ && *p_ >= '0' && *p_ <= '9')
                ++p_;
        }
        return true;
    }

    bool literal(const char* word, std::size_t n) {
        if (static_cast<std::size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0)
            return fail("unexpected character");
        p_ += n;
        return true;
    }

    // `depth` is the depth of the container this value would open.
    bool value(int depth) {
        if (p_ == end_) return fail("the text ends where a value was expected");
        switch (*p_) {
            case '{':
                return object(depth, nullptr);
            case '[':
                return array(depth);
            case '"':
                return string();
            case 't':
                return literal("true", 4);
            case 'f':
                return literal("false", 5);
            case 'n':
                return literal("null", 4);
            default:
                return number();
        }
    }

    bool array(int depth) {
        if (depth > max_depth_) return fail("the message nests deeper than the server allows");
        ++p_;
        skip_ws();
        if (p_ != end_ && *p_ == ']') {
            ++p_;
            return true;
        }
        for (;;) {
            skip_ws();
            if (!value(depth + 1)) return false;
            skip_ws();
            if (p_ == end_) return fail("an array is not terminated");
            if (*p_ == ',') {
                ++p_;
                continue;
            }
            if (*p_ == ']') {
                ++p_;
                return true;
            }
            return fail("expected ',' or ']' in an array");
        }
    }

    // When `out` is set, records the members of this object. Refuses an
    // object with two members of the same (decoded) name, at any depth.
    bool object(int depth, std::vector<MessageView::Member>* out) {
        if (depth > max_depth_) return fail("the message nests deeper than the server allows");
        ++p_;
        skip_ws();
        if (p_ != end_ && *p_ == '}') {
            ++p_;
            return true;
        }
        const std::size_t first_key = keys_.size();
        for (;;) {
            skip_ws();
            if (p_ == end_ || *p_ != '"') return fail("expected a member name in quotes");
            const char* key_begin = p_;
            bool escaped = false;
            if (!string(&escaped)) return false;
            std::string_view raw_key(key_begin, static_cast<std::size_t>(p_ - key_begin));
            if (escaped) {
                decoded_keys_.push_back(decode_valid_string(raw_key));
                keys_.push_back(decoded_keys_.back());
            } else {
                keys_.push_back(raw_key.substr(1, raw_key.size() - 2));
            }
            skip_ws();
            if (p_ == end_ || *p_ != ':') return fail("expected ':' after a member name");
            ++p_;
            skip_ws();
            const char* value_begin = p_;
            if (!value(depth + 1)) return false;
            if (out) {
                MessageView::Member m;
                m.raw_key = raw_key;
                m.value = std::string_view(value_begin, static_cast<std::size_t>(p_ - value_begin));
                if (escaped) m.decoded_key = std::string(keys_.back());
                out->push_back(std::move(m));
            }
            skip_ws();
            if (p_ == end_) return fail("an object is not terminated");
            if (*p_ == ',') {
                ++p_;
                continue;
            }
            if (*p_ == '}') {
                ++p_;
                check_unique_keys(first_key);
                keys_.resize(first_key);
                return true;
            }
            return fail("expected ',' or '}' in an object");
        }
    }

    // Notes in `duplicate` when two names of keys_[first..], one object's,
    // are equal (I-JSON, RFC 7493): a receiver whose parser keeps the first
    // of two members would otherwise see something the server never
    // checked. Reported once the whole text is known to be JSON. Pairwise
    // for the usual handful of members, sorted for large objects so that a
    // 64 KiB object of tiny members costs n log n, not n squared.
    void check_unique_keys(std::size_t first) {
        if (!duplicate.empty()) return;  // the first one found is reported
        const std::size_t n = keys_.size() - first;
        std::string_view name;
        bool found = false;
        if (n <= 16) {
            for (std::size_t i = first + 1; i < keys_.size() && !found; ++i)
                for (std::size_t j = first; j < i; ++j)
                    if (keys_[i] == keys_[j]) {
                        name = keys_[i];
                        found = true;
                        break;
                    }
        } else {
            sorted_.assign(keys_.begin() + static_cast<std::ptrdiff_t>(first), keys_.end());
            std::sort(sorted_.begin(), sorted_.end());
            auto it = std::adjacent_find(sorted_.begin(), sorted_.end());
            if (it != sorted_.end()) {
                name = *it;
                found = true;
            }
        }
        if (!found) return;
        std::string quoted =
            nlohmann::json(std::string(name)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        duplicate = "member " + quoted + " appears twice in one object; member names must be unique";
    }

private:
    // Per thread and reused, so a message costs no allocation for them;
    // looked up once per Scanner (a thread_local access is not free).
    struct Scratch {
        std::vector<std::string_view> keys;
        std::vector<std::string_view> sorted;
        std::deque<std::string> decoded;
    };
    static Scratch& scratch() {
        thread_local Scratch s;
        return s;
    }
    // Names of the members of the objects being scanned, innermost last.
    std::vector<std::string_view>& keys_;
    std::vector<std::string_view>& sorted_;
    // Storage for decoded names (those written with escapes); deque: stable.
    std::deque<std::string>& decoded_keys_;
};

// The functions below read text the Scanner has already accepted, so they
// skip instead of checking.

// p at an opening quote; returns the position past the closing quote: the
// first quote after an even run of backslashes (memchr runs at memory speed;
// a quote inside the string is rare).
const char* skip_valid_string(const char* p, const char* end) {
    const char* from = p + 1;
    for (;;) {
        auto q = static_cast<const char*>(std::memchr(from, '"', static_cast<std::size_t>(end - from)));
        const char* b = q;
        while (b[-1] == '\\')  // stops at the latest quote at the latest
            --b;
        if (((q - b) & 1) == 0) return q + 1;
        from = q + 1;
    }
}

const char* skip_valid_value(const char* p, const char* end) {
    switch (*p) {
        case '"':
            return skip_valid_string(p, end);
        case '{':
        case '[': {
            int depth = 0;
            for (;;) {
                char c = *p;
                if (c == '"') {
                    p = skip_valid_string(p, end);
                    continue;
                }
                if (c == '{' || c == '[') {
                    ++depth;
                } else if (c == '}' || c == ']') {
                    if (--depth == 0) return p + 1;
                }
                ++p;
            }
        }
        default:  // number or literal
            while (p != end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\r' &&
                   *p != '\t')
                ++p;
            return p;
    }
}

const char* skip_valid_ws(const char* p, const char* end) {
    while (p != end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        ++p;
    return p;
}

// Records the members of a valid object exactly as Scanner::object does.
void index_valid_object(std::string_view text, std::vector<MessageView::Member>& out) {
    const char* p = text.data();
    const char* end = p + text.size();
    p = skip_valid_ws(p, end) + 1;  // past '{'
    p = skip_valid_ws(p, end);
    if (*p == '}') return;
    for (;;) {
        p = skip_valid_ws(p, end);
        const char* key_begin = p;
        p = skip_valid_string(p, end);
        std::string_view raw_key(key_begin, static_cast<std::size_t>(p - key_begin));
        p = skip_valid_ws(p, end) + 1;  // past ':'
        p = skip_valid_ws(p, end);
        const char* value_begin = p;
        p = skip_valid_value(p, end);
        MessageView::Member m;
        m.raw_key = raw_key;
        m.value = std::string_view(value_begin, static_cast<std::size_t>(p - value_begin));
        if (raw_key.find('\\') != std::string_view::npos) m.decoded_key = decode_valid_string(raw_key);
        out.push_back(std::move(m));
        p = skip_valid_ws(p, end);
        if (*p == '}') return;
        ++p;  // ','
    }
}

unsigned valid_hex4(const char* p) {
    unsigned unit = 0;
    for (int i = 0; i < 4; ++i) {
        char c = p[i];
        unit <<= 4;
        if (c >= '0' && c <= '9')
            unit |= static_cast<unsigned>(c - '0');
        else if (c >= 'a' && c <= 'f')
            unit |= static_cast<unsigned>(c - 'a' + 10);
        else
            unit |= static_cast<unsigned>(c - 'A' + 10);
    }
    return unit;
}

char* put_utf8(char* o, std::uint32_t cp) {
    if (cp < 0x80) {
        *o++ = static_cast<char>(cp);
    } else if (cp < 0x800) {
        *o++ = static_cast<char>(0xC0 | (cp >> 6));
        *o++ = static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = static_cast<char>(0xE0 | (cp >> 12));
        *o++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        *o++ = static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        *o++ = static_cast<char>(0xF0 | (cp >> 18));
        *o++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        *o++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        *o++ = static_cast<char>(0x80 | (cp & 0x3F));
    }
    return o;
}

// Decodes a valid JSON string literal (quotes included). The Scanner has
// rejected bad escapes and lone surrogates, so every \\u pair here is whole.
// Decoding never lengthens a string, so the output is written in place into
// a buffer of the literal's size.
std::string decode_valid_string(std::string_view quoted) {
    const char* p = quoted.data() + 1;
    const char* end = quoted.data() + quoted.size() - 1;
    std::string out(quoted.size(), '\0');
    char* o = out.data();
    for (;;) {
        // Inside the quotes an unescaped '"' cannot occur: this stops at a backslash or the end.
        const char* run = p;
        p = find_string_special<false>(p, end);
        std::memcpy(o, run, static_cast<std::size_t>(p - run));
        o += p - run;
        if (p == end) break;
        char e = p[1];
        p += 2;
        switch (e) {
            case 'b':
                *o++ = '\b';
                break;
            case 'f':
                *o++ = '\f';
                break;
            case 'n':
                *o++ = '\n';
                break;
            case 'r':
                *o++ = '\r';
                break;
            case 't':
                *o++ = '\t';
                break;
            case 'u': {
                std::uint32_t cp = valid_hex4(p);
                p += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    std::uint32_t low = valid_hex4(p + 2);
                    p += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                }
                o = put_utf8(o, cp);
                break;
            }
            default:  // '"', '\\', '/'
                *o++ = e;
        }
    }
    out.resize(static_cast<std::size_t>(o - out.data()));
    return out;
}

}  // namespace

MessageView::Parsed MessageView::parse(std::string_view text, int max_depth) {
    Scanner s(text, max_depth);
    s.skip_ws();
    MessageView view;
    view.text_ = text;
    bool ok;
    bool is_object = s.p_ != s.end_ && *s.p_ == '{';
    if (is_object) {
        view.members_.reserve(6);
        ok = s.object(1, &view.members_);
    } else {
        ok = s.value(1);
    }
    if (ok) {
        s.skip_ws();
        if (s.p_ != s.end_) ok = s.fail("unexpected text after the JSON value");
    }
    if (ok && !s.duplicate.empty()) return Error{std::string(errc::invalid_message), std::move(s.duplicate)};
    if (ok && !is_object) return Error{std::string(errc::invalid_message), "the message is not a JSON object"};
    if (!ok) {
        if (text.empty()) s.error = "the message is empty";
        return Error{std::string(errc::invalid_json), std::move(s.error)};
    }
    return view;
}

MessageView::MessageView(MessageView&&) noexcept = default;
MessageView& MessageView::operator=(MessageView&&) noexcept = default;
MessageView::~MessageView() = default;

std::optional<std::string_view> MessageView::raw(std::string_view key) const noexcept {
    for (auto it = members_.rbegin(); it != members_.rend(); ++it)
        if (it->key() == key) return it->value;
    return std::nullopt;
}

std::optional<std::string> MessageView::string(std::string_view key) const {
    auto v = raw(key);
    if (!v || v->empty() || v->front() != '"') return std::nullopt;
    if (v->find('\\') == std::string_view::npos) return std::string(v->substr(1, v->size() - 2));
    return decode_valid_string(*v);
}

std::optional<std::uint64_t> MessageView::uint(std::string_view key, std::uint64_t max) const noexcept {
    auto v = raw(key);
    if (!v || v->empty() || v->size() > 20) return std::nullopt;
    std::uint64_t n = 0;
    for (char c : *v) {
        if (c < '0' || c > '9') return std::nullopt;
        auto d = static_cast<std::uint64_t>(c - '0');
        if (n > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
        n = n * 10 + d;
    }
    if (n > max) return std::nullopt;
    return n;
}

std::optional<MessageView> MessageView::object(std::string_view key) const {
    auto v = raw(key);
    if (!v || v->empty() || v->front() != '{') return std::nullopt;
    // Already validated as part of the whole: index its members without checking again.
    MessageView view;
    view.text_ = *v;
    view.members_.reserve(6);
    index_valid_object(*v, view.members_);
    return view;
}

bool MessageView::is_string(std::string_view key) const noexcept {
    auto v = raw(key);
    return v && !v->empty() && v->front() == '"';
}

bool MessageView::is_null(std::string_view key) const noexcept {
    auto v = raw(key);
    return v && *v == "null";
}

const nlohmann::json& MessageView::json() const {
    if (!json_) json_ = std::make_unique<nlohmann::json>(nlohmann::json::parse(text_));
    return *json_;
}

}  // namespace switchboard

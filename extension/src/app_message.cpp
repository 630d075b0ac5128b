// A strict RFC 8259 checker for application events; it keeps only the top-level "type".
#include "pgcqrs/app_message.hpp"
#include "pgcqrs/core/json_number.hpp"
#include "pgcqrs/core/utf8.hpp"

#include <cstdint>
#include <string>

namespace pgcqrs {
namespace {

constexpr int max_depth = 64;  // deep nesting is refused rather than recursed into

class Checker {
 public:
  explicit Checker(std::string_view s) : s_(s) {}

  AppMessageCheck run() {
    AppMessageCheck result;
    skip_ws();
    if (pos_ >= s_.size()) {
      error_ = "payload is empty";
    } else if (s_[pos_] != '{') {
      error_ = "payload is not a JSON object";
    } else {
      object(0, true);
      skip_ws();
      if (error_.empty() && pos_ != s_.size()) fail("unexpected data after the JSON object");
    }
    if (error_.empty()) {
      if (!has_type_) {
        error_ = "payload has no \"type\" string member";
      } else if (type_.empty()) {
        error_ = "payload \"type\" is empty";
      } else if (is_reserved_event_type(type_)) {
        error_ = "payload \"type\" \"" + type_ + "\" is reserved for pgcqrs events";
      }
    }
    if (error_.empty()) {
      result.valid = true;
      result.type = std::move(type_);
    } else {
      result.reason = std::move(error_);
    }
    return result;
  }

 private:
  void fail(const char* what) {
    if (!error_.empty()) return;
    error_ = std::string("payload is not valid JSON: ") + what +
             (pos_ >= s_.size() ? " at end of input" : " at byte " + std::to_string(pos_));
  }
  bool ok() const { return error_.empty(); }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool eat(char c) {
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void value(int depth, std::string* capture_string, bool* was_string) {
    skip_ws();
    if (pos_ >= s_.size()) return fail("expected a value");
    char c = s_[pos_];
    if (c == '{') return object(depth + 1, false);
    if (c == '[') return array(depth + 1);
    if (c == '"') {
      if (was_string) *was_string = true;
      return string(capture_string);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    for (std::string_view word : {"true", "false", "null"}) {
      if (s_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return;
      }
    }
    fail("unexpected character");
  }

  void object(int depth, bool top) {
    if (depth > max_depth) return fail("nesting too deep");
    ++pos_;  // '{'
    if (eat('}')) return;
    do {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected a member name");
      std::string name;
      string(&name);
      if (!ok()) return;
      if (!eat(':')) return fail("expected ':'");
      bool is_type = top && name == "type";
      bool was_string = false;
      std::string captured;
      value(depth, is_type ? &captured : nullptr, &was_string);
      if (!ok()) return;
      if (is_type) {
        has_type_ = was_string;
        type_ = std::move(captured);
      }
    } while (eat(','));
    if (!eat('}')) fail("expected ',' or '}'");
  }

  void array(int depth) {
    if (depth > max_depth) return fail("nesting too deep");
    ++pos_;  // '['
    if (eat(']')) return;
    do {
      value(depth, nullptr, nullptr);
      if (!ok()) return;
    } while (eat(','));
    if (!eat(']')) fail("expected ',' or ']'");
  }

  void number() {
    std::size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    auto digits = [&] {
      std::size_t b = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - b;
    };
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
    } else if (digits() == 0) {
      pos_ = start;
      return fail("bad number");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return fail("bad number");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) return fail("bad number");
    }
    if (!json_number_is_finite(s_.substr(start, pos_ - start))) {
      pos_ = start;
      fail("number out of range");
    }
  }

  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // Reads 4 hex digits after "\u"; -1 on error.
  long hex4() {
    if (pos_ + 4 > s_.size()) return -1;
    long v = 0;
    for (int k = 0; k < 4; ++k) {
      int h = hex_digit(s_[pos_ + k]);
      if (h < 0) return -1;
      v = v * 16 + h;
    }
    pos_ += 4;
    return v;
  }

  void string(std::string* capture) {
    ++pos_;  // opening quote
    while (pos_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return;
      }
      if (c < 0x20) return fail("control character in string");
      if (c == '\\') {
        ++pos_;
        if (pos_ >= s_.size()) break;
        char e = s_[pos_++];
        char plain = 0;
        switch (e) {
          case '"': plain = '"'; break;
          case '\\': plain = '\\'; break;
          case '/': plain = '/'; break;
          case 'b': plain = '\b'; break;
          case 'f': plain = '\f'; break;
          case 'n': plain = '\n'; break;
          case 'r': plain = '\r'; break;
          case 't': plain = '\t'; break;
          case 'u': {
            long cp = hex4();
            if (cp < 0) return fail("bad \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              if (s_.substr(pos_, 2) != "\\u") return fail("unpaired surrogate");
              pos_ += 2;
              long low = hex4();
              if (low < 0xDC00 || low > 0xDFFF) return fail("unpaired surrogate");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
              return fail("unpaired surrogate");
            }
            if (capture) utf8::append(*capture, static_cast<std::uint32_t>(cp));
            continue;
          }
          default:
            --pos_;
            return fail("bad escape");
        }
        if (capture) capture->push_back(plain);
        continue;
      }
      std::size_t n = 1;
      if (c >= 0x80) {
        n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
        if (n == 0 || c > 0xF4 || pos_ + n > s_.size()) return fail("invalid UTF-8");
        for (std::size_t k = 1; k < n; ++k)
          if ((static_cast<unsigned char>(s_[pos_ + k]) & 0xC0) != 0x80) return fail("invalid UTF-8");
        // Reject overlong forms and surrogates.
        unsigned char c1 = static_cast<unsigned char>(s_[pos_ + 1]);
        if ((n == 2 && c < 0xC2) || (n == 3 && c == 0xE0 && c1 < 0xA0) ||
            (n == 3 && c == 0xED && c1 > 0x9F) || (n == 4 && c == 0xF0 && c1 < 0x90) ||
            (n == 4 && c == 0xF4 && c1 > 0x8F))
          return fail("invalid UTF-8");
      }
      if (capture) capture->append(s_.data() + pos_, n);
      pos_ += n;
    }
    fail("unterminated string");
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::string error_;
  bool has_type_ = false;
  std::string type_;
};

}  // namespace

AppMessageCheck check_app_message(std::string_view content) { return Checker(content).run(); }

}  // namespace pgcqrs

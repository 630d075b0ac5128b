// Commands written straight into RESP bytes: for the transaction projection's writes, where
// building an argument vector per command cost more than Redis spent running it, and for the
// async client, which formats each argument vector once into its reused output buffer.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace pgcqrs::sidecar::redis {

// "*3\r\n" (kind '*', an array of 3) or "$5\r\n" (kind '$', a bulk string of 5 bytes),
// built on the stack and appended at once: these run for every argument of every write.
inline void append_header(std::string& out, char kind, size_t n) {
  char tmp[24];
  tmp[0] = kind;
  char* end = std::to_chars(tmp + 1, tmp + sizeof tmp - 2, n).ptr;
  end[0] = '\r';
  end[1] = '\n';
  out.append(tmp, static_cast<size_t>(end + 2 - tmp));
}

// A short argument (most are) is framed on the stack and appended at once: three appends
// cost more than the bytes they copied.
inline void append_bulk(std::string& out, std::string_view a) {
  char tmp[128];
  tmp[0] = '$';
  char* p = std::to_chars(tmp + 1, tmp + 22, a.size()).ptr;
  *p++ = '\r';
  *p++ = '\n';
  if (a.size() > static_cast<size_t>(tmp + sizeof tmp - 2 - p)) {
    out.append(tmp, static_cast<size_t>(p - tmp)).append(a.data(), a.size()).append("\r\n", 2);
    return;
  }
  if (!a.empty()) std::memcpy(p, a.data(), a.size());
  p += a.size();
  *p++ = '\r';
  *p++ = '\n';
  out.append(tmp, static_cast<size_t>(p - tmp));
}

// Appends argv as one command (an array of bulk strings; binary-safe).
inline void append_command(std::string& out, const std::vector<std::string>& argv) {
  append_header(out, '*', argv.size());
  for (const auto& a : argv) append_bulk(out, a);
}

// Two pieces sent as one argument: "order_details:" + id without building the string.
struct Cat {
  std::string_view a, b;
};

class RespWriter {
 public:
  // Appends one command: cmd("HSET", key, "field", value, ...).
  template <typename... Args>
  void cmd(const Args&... args) {
    starts_.push_back(buf_.size());
    append_header(buf_, '*', sizeof...(args));
    (arg(args), ...);
  }
  // A command whose argument count is known only at run time: begin(n), then n arg() calls.
  void begin(size_t argc) {
    starts_.push_back(buf_.size());
    append_header(buf_, '*', argc);
  }
  void arg(std::string_view a) { append_bulk(buf_, a); }
  void arg(const std::string& a) { arg(std::string_view(a)); }
  void arg(const char* a) { arg(std::string_view(a)); }
  void arg(Cat c) {
    append_header(buf_, '$', c.a.size() + c.b.size());
    buf_.append(c.a);
    buf_.append(c.b);
    buf_.append("\r\n", 2);
  }
  void arg(int64_t v) {
    char tmp[24];
    auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
    arg(std::string_view(tmp, static_cast<size_t>(r.ptr - tmp)));
  }

  void reserve(size_t bytes, size_t commands) {
    buf_.reserve(bytes);
    starts_.reserve(commands);
  }
  void clear() {  // keeps the capacity
    buf_.clear();
    starts_.clear();
  }
  size_t commands() const { return starts_.size(); }
  std::string& buffer() { return buf_; }
  const std::string& buffer() const { return buf_; }
  const std::vector<size_t>& starts() const { return starts_; }

 private:
  std::string buf_;
  std::vector<size_t> starts_;
};

}  // namespace pgcqrs::sidecar::redis

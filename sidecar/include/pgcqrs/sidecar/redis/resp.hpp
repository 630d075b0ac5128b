// Commands written straight into one RESP buffer: for the transaction projection's writes,
// where building an argument vector per command cost more than Redis spent running it.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgcqrs::sidecar::redis {

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
    header('*', sizeof...(args));
    (arg(args), ...);
  }
  // A command whose argument count is known only at run time: begin(n), then n arg() calls.
  void begin(size_t argc) {
    starts_.push_back(buf_.size());
    header('*', argc);
  }
  void arg(std::string_view a) {
    header('$', a.size());
    buf_.append(a);
    buf_.append("\r\n", 2);
  }
  void arg(const std::string& a) { arg(std::string_view(a)); }
  void arg(const char* a) { arg(std::string_view(a)); }
  void arg(Cat c) {
    header('$', c.a.size() + c.b.size());
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
  size_t commands() const { return starts_.size(); }
  std::string& buffer() { return buf_; }
  const std::vector<size_t>& starts() const { return starts_; }

 private:
  void header(char kind, size_t n) {
    char tmp[24];
    auto r = std::to_chars(tmp, tmp + sizeof tmp, n);
    buf_.push_back(kind);
    buf_.append(tmp, static_cast<size_t>(r.ptr - tmp));
    buf_.append("\r\n", 2);
  }

  std::string buf_;
  std::vector<size_t> starts_;
};

}  // namespace pgcqrs::sidecar::redis

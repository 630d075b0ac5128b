// The output plugin's options, parsed strictly from name/value pairs.
#pragma once
#include "pgcqrs/core/pure.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace pgcqrs {

struct Options {
  bool include_xid = true;
  bool include_lsn = true;
  bool include_timestamps = true;
  // framing 'transaction': a transaction's messages go out newline-separated in one output
  // message (several, for a large one), rather than one output message each.
  bool transaction_framing = false;
};

// A transaction-framed output message is cut at the first message boundary past this size.
constexpr size_t frame_bytes = 1u << 20;

// Accumulates options one at a time; the first bad one leaves a message in error().
class OptionParser {
 public:
  // value is nullptr when the option was given without a value (means "true" for switches).
  bool add(std::string_view name, const char* value);
  const Options& options() const { return options_; }
  const std::string& error() const { return error_; }

  static constexpr const char* valid_names =
      "format-version, include-xid, include-lsn, include-timestamps, framing";

 private:
  Options options_;
  unsigned seen_ = 0;
  std::string error_;
};

// PostgreSQL's boolean spellings: true/false, on/off, yes/no, 1/0, t/f, y/n (any case).
std::optional<bool> parse_bool(std::string_view text);

}  // namespace pgcqrs

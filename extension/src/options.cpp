// Strict parsing of the output plugin's options.
#include "pgcqrs/options.hpp"

#include <cctype>

namespace pgcqrs {

std::optional<bool> parse_bool(std::string_view text) {
  std::string lower;
  for (char c : text) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "true" || lower == "on" || lower == "yes" || lower == "1" || lower == "t" || lower == "y")
    return true;
  if (lower == "false" || lower == "off" || lower == "no" || lower == "0" || lower == "f" || lower == "n")
    return false;
  return std::nullopt;
}

bool OptionParser::add(std::string_view name, const char* value) {
  struct Switch { const char* name; bool Options::*field; };
  static constexpr Switch switches[] = {
      {"include-xid", &Options::include_xid},
      {"include-lsn", &Options::include_lsn},
      {"include-timestamps", &Options::include_timestamps},
  };
  auto once = [&](unsigned bit) {
    if (seen_ & bit) {
      error_ = "option \"" + std::string(name) + "\" is given more than once";
      return false;
    }
    seen_ |= bit;
    return true;
  };

  if (name == "format-version") {
    if (!once(1u)) return false;
    if (value == nullptr || std::string_view(value) != "1") {
      error_ = "format-version \"" + std::string(value ? value : "") +
               "\" is not supported; this plugin speaks format-version 1";
      return false;
    }
    return true;
  }
  if (name == "framing") {
    if (!once(16u)) return false;
    std::string_view v = value ? value : "";
    if (v != "message" && v != "transaction") {
      error_ = "framing \"" + std::string(v) + "\" is not one of message, transaction";
      return false;
    }
    options_.transaction_framing = v == "transaction";
    return true;
  }
  for (unsigned k = 0; k < sizeof switches / sizeof switches[0]; ++k) {
    if (name != switches[k].name) continue;
    if (!once(2u << k)) return false;
    auto parsed = value ? parse_bool(value) : std::optional<bool>(true);
    if (!parsed) {
      error_ = "option \"" + std::string(name) + "\" needs a boolean, not \"" + value + "\"";
      return false;
    }
    options_.*switches[k].field = *parsed;
    return true;
  }
  error_ = "unknown option \"" + std::string(name) + "\"; valid options are: " + valid_names;
  return false;
}

}  // namespace pgcqrs

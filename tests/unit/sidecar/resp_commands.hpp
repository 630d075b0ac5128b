// The commands of a RESP buffer as the projector writes them (arrays of bulk strings), one
// string each ("HSET k f v ..."), for tests that assert what a commit writes.
#pragma once

#include <string>
#include <vector>

inline std::vector<std::string> resp_commands(const std::string& b) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < b.size()) {
    size_t eol = b.find("\r\n", i);
    const size_t n = std::stoul(b.substr(i + 1, eol - i - 1));
    i = eol + 2;
    std::string cmd;
    for (size_t k = 0; k < n; ++k) {
      eol = b.find("\r\n", i);
      const size_t len = std::stoul(b.substr(i + 1, eol - i - 1));
      i = eol + 2;
      if (k > 0) cmd += ' ';
      cmd += b.substr(i, len);
      i += len + 2;
    }
    out.push_back(cmd);
  }
  return out;
}

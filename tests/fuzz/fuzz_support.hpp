#pragma once
// What the harnesses share: the bytes of one input, and the rule that a reader may end
// in segdistill::Error (a clear message) and nothing else. Any other exception, a
// crash, a leak or undefined behaviour is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace segdistill_fuzz {

inline std::vector<char> chars(const std::uint8_t* data, std::size_t size) {
  return std::vector<char>(reinterpret_cast<const char*>(data), reinterpret_cast<const char*>(data) + size);
}

// An input of fuzz_split_and_bases cut at each "\n===\n": a split list, then up to 8
// config files f1.toml..f8.toml (the suite replays the corpus the same way).
inline std::vector<std::string> split_and_bases_parts(const std::string& text) {
  const std::string cut = "\n===\n";
  std::vector<std::string> out;
  std::size_t at = 0;
  while (out.size() < 9) {
    const std::size_t next = text.find(cut, at);
    out.push_back(text.substr(at, next == std::string::npos ? std::string::npos : next - at));
    if (next == std::string::npos) break;
    at = next + cut.size();
  }
  return out;
}

}  // namespace segdistill_fuzz

#include "segdistill/data/split_list.hpp"

#include <algorithm>

#include "segdistill/core/error.hpp"
#include "segdistill/core/untrusted_file.hpp"

namespace segdistill {

namespace {

// Why `id` is not a relative name inside the data root ("" when it is one).
std::string id_problem(const std::string& id) {
  if (id.front() == '/') return "an absolute path";
  for (const char c : id)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "a control character";
  std::size_t start = 0;
  while (start <= id.size()) {
    const std::size_t end = std::min(id.find('/', start), id.size());
    const std::string part = id.substr(start, end - start);
    if (part == "..") return "a '..' component";
    if (part.empty() || part == ".") return "an empty or '.' component";
    start = end + 1;
  }
  return "";
}

}  // namespace

std::vector<std::string> read_split_list(const std::string& path, const std::string& config_key) {
  std::vector<char> bytes;
  try {
    bytes = read_untrusted_file(path, "split list", kMaxSplitListBytes, "split lists are at most 64 MiB");
  } catch (const Error& e) {
    throw Error(config_key + ": " + e.what());
  }
  std::vector<std::string> ids;
  std::size_t line_number = 0;
  for (std::size_t at = 0; at < bytes.size();) {
    const std::size_t newline =
        std::min<std::size_t>(std::find(bytes.begin() + static_cast<long>(at), bytes.end(), '\n') - bytes.begin(), bytes.size());
    const std::string line(bytes.data() + at, newline - at);
    at = newline + 1;
    ++line_number;
    const auto begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos) continue;
    const auto end = line.find_last_not_of(" \t\r");
    // SBD/VOC lists hold one id per line; some converted lists add the label path after it.
    std::string id = line.substr(begin, end - begin + 1);
    id = id.substr(0, id.find_first_of(" \t"));
    const std::string problem = id_problem(id);
    if (!problem.empty())
      throw Error(config_key + ": " + path + ":" + std::to_string(line_number) + ": sample id '" + printable(id) + "' has " +
                  problem + "; ids name files inside the data root");
    ids.push_back(std::move(id));
  }
  if (ids.empty()) throw Error(config_key + ": split list " + path + " holds no sample ids");
  return ids;
}

}  // namespace segdistill

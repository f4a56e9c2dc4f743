// Split lists and `_base_` resolution: the input is cut at each "\n===\n" into a split
// list (the first part) and up to 8 config files f1.toml..f8.toml (the others), written
// to a folder of this process; the list is read, then f1.toml loaded, so that bases
// naming each other (f2.toml twice, cycles, diamonds) are resolved from real files.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/data/split_list.hpp"

namespace {

const std::filesystem::path& folder() {
  static const std::filesystem::path path = [] {
    auto p = std::filesystem::temp_directory_path() / ("segdistill_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(p);
    return p;
  }();
  return path;
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto files = segdistill_fuzz::split_and_bases_parts(std::string(reinterpret_cast<const char*>(data), size));
  write(folder() / "list.txt", files[0]);
  for (std::size_t i = 1; i <= 8; ++i) write(folder() / ("f" + std::to_string(i) + ".toml"), i < files.size() ? files[i] : "");
  try {
    segdistill::read_split_list((folder() / "list.txt").string(), "data.train.split");
  } catch (const segdistill::Error&) {
  }
  try {
    segdistill::Config::load((folder() / "f1.toml").string()).to_toml();
  } catch (const segdistill::Error&) {
  }
  return 0;
}

#include <cstdlib>
#include <filesystem>

#include <boost/dll/runtime_symbol_info.hpp>

#include "segdistill/plugin/loader.hpp"

namespace fs = std::filesystem;

namespace segdistill {

namespace {

std::vector<std::string> split_colons(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  for (char c : text) {
    if (c == ':') {
      if (!current.empty()) out.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

bool is_inside(const fs::path& file, const fs::path& dir) {
  const auto relative = file.lexically_relative(dir);
  return !relative.empty() && *relative.begin() != "..";
}

}  // namespace

std::vector<std::string> plugin_search_path(const std::vector<std::string>& cli_dirs,
                                            const std::vector<std::string>& config_dirs) {
  std::vector<std::string> dirs = cli_dirs;
  if (const char* env = std::getenv("SEGDISTILL_PLUGIN_PATH"))
    for (const auto& dir : split_colons(env)) dirs.push_back(dir);
  dirs.insert(dirs.end(), config_dirs.begin(), config_dirs.end());

  // Where the running program is decides which default folders apply, so that an
  // installed segdistill never picks up plugins of a build tree and vice versa.
  std::error_code ec;
  const fs::path program = fs::weakly_canonical(boost::dll::program_location().string(), ec);
  const fs::path build_dir = fs::weakly_canonical(SEGDISTILL_BUILD_DIR, ec);
  if (is_inside(program, build_dir) && fs::is_directory(SEGDISTILL_BUILD_PLUGIN_DIR, ec)) {
    dirs.push_back(SEGDISTILL_BUILD_PLUGIN_DIR);
  } else {
    const fs::path installed = program.parent_path().parent_path() / SEGDISTILL_INSTALL_PLUGIN_DIR;
    if (fs::is_directory(installed, ec)) dirs.push_back(installed.string());
  }
  return dirs;
}

}  // namespace segdistill

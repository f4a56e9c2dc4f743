#include "segdistill/evaluation/output_paths.hpp"

#include <filesystem>

#include "segdistill/core/error.hpp"
#include "segdistill/core/untrusted_file.hpp"

namespace fs = std::filesystem;

namespace segdistill {

namespace {
bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec);
}
}  // namespace

void refuse_overwriting_inputs(const std::string& option, const std::string& target, const std::vector<std::string>& inputs) {
  for (const auto& input : inputs)
    if (!input.empty() && same_file(target, input))
      throw Error(option + ": writing " + target + " would replace the input " + input +
                  "; choose an output folder apart from the data");
}

std::string output_file_inside(const std::string& option, const std::string& folder, const std::string& id,
                               const std::string& extension) {
  const fs::path relative = fs::path(id + extension).lexically_normal();
  if (id.empty() || relative.is_absolute() || relative.empty() || *relative.begin() == ".." || *relative.begin() == ".")
    throw Error(option + " " + folder + ": sample id '" + printable(id) + "' would write outside the folder; refused");
  return (fs::path(folder) / relative).string();
}

void refuse_input_folder(const std::string& option, const std::string& folder, const std::string& input_file,
                         const std::string& what) {
  if (input_file.empty()) return;
  const fs::path parent = fs::path(input_file).parent_path();
  if (same_file(folder, parent.empty() ? fs::path(".") : parent))
    throw Error(option + " " + folder + ": this is the folder of the " + what + " (" + input_file +
                "); outputs there would mix with or replace the data; choose another folder");
}

}  // namespace segdistill

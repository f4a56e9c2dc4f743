// Config files: the TOML limits, parsing, _base_ resolution, printing back, and the
// key-by-key comparison resume runs on the config stored in a checkpoint.
#include <string>

#include "config/diff.hpp"
#include "fuzz_support.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const segdistill::Config config = segdistill::Config::parse(text, "fuzz.toml");
    const std::string printed = config.to_toml();
    segdistill::config_changes(printed, printed, "fuzz.toml");
  } catch (const segdistill::Error&) {
  }
  try {
    segdistill::config_changes(text, "a = 1", "fuzz.toml");
  } catch (const segdistill::Error&) {
  }
  return 0;
}

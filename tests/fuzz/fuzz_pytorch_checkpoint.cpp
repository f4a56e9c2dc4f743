// PyTorch checkpoints as users download them: the zip format (torch.save since 1.6) and
// the legacy format, through the zip reader, the pickle reader and the storage loader.
#include "checkpoint/pytorch_formats.hpp"
#include "checkpoint/zip_archive.hpp"
#include "fuzz_support.hpp"
#include "segdistill/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<char> bytes = segdistill_fuzz::chars(data, size);
  try {
    if (size >= 2 && data[0] == 0x80)
      segdistill::load_legacy_checkpoint("fuzz.pt", bytes);
    else
      segdistill::load_zip_checkpoint(segdistill::ZipArchive(std::move(bytes), "fuzz.pt", "PyTorch checkpoint"));
  } catch (const segdistill::Error&) {
  }
  return 0;
}

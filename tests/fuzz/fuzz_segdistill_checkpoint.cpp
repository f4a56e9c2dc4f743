// segdistill's own checkpoints (eval, export, --resume, teacher.checkpoint): the archive
// and every entry of its structure.
#include "checkpoint/reader.hpp"
#include "fuzz_support.hpp"
#include "segdistill/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const segdistill::Checkpoint checkpoint = segdistill::read_checkpoint_archive(
        segdistill::ZipArchive(segdistill_fuzz::chars(data, size), "fuzz.pt", "segdistill checkpoint"));
    for (const auto& [group, tensors] : checkpoint.groups) segdistill::check_finite(tensors, group);
  } catch (const segdistill::Error&) {
  }
  return 0;
}

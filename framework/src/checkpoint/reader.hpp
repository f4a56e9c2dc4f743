#pragma once
// Private to libsegdistill: a segdistill checkpoint read from an archive already in
// memory (load_checkpoint reads the file, the fuzz harness hands bytes).
#include "checkpoint/zip_archive.hpp"
#include "segdistill/checkpoint/checkpoint.hpp"

namespace segdistill {

// The checkpoint's structure checked entry by entry (no tensors checked for NaN/Inf:
// load_checkpoint does that).
Checkpoint read_checkpoint_archive(const ZipArchive& archive);

}  // namespace segdistill

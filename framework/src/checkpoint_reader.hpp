#pragma once
// Private to libsegdistill: a segdistill checkpoint read from an archive already in
// memory (load_checkpoint reads the file, the fuzz harness hands bytes).
#include "segdistill/checkpoint.hpp"
#include "zip_archive.hpp"

namespace segdistill {

// The checkpoint's structure checked entry by entry (no tensors checked for NaN/Inf:
// load_checkpoint does that).
Checkpoint read_checkpoint_archive(const ZipArchive& archive);

}  // namespace segdistill

#pragma once
// Private to libsegdistill: the two file formats of torch.save, read into pickle values
// with tensors rebuilt from the file's storages.
#include <string>
#include <vector>

#include "checkpoint/pickle_value.hpp"

namespace segdistill {

class ZipArchive;

// torch.save since PyTorch 1.6 (and torch::pickle_save): a zip archive of data.pkl and
// data/<key> storages.
pickle::Ref load_zip_checkpoint(const ZipArchive& archive);

// torch.save before 1.6 (and _use_new_zipfile_serialization=False): magic number,
// protocol version and system-info pickles, the object pickle, the storage keys, then
// each storage's element count and raw bytes.
pickle::Ref load_legacy_checkpoint(const std::string& path, const std::vector<char>& bytes);

}  // namespace segdistill

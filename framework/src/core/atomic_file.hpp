#pragma once
// Private to libsegdistill.
#include <string>
#include <vector>

namespace segdistill {

// Writes `bytes` to `path` through a temporary file in the same folder: write, fsync,
// rename, fsync of the folder. On failure the temporary file is removed and an existing
// `path` stays as it was; the Error says what `what` could not be written.
void write_file_atomically(const std::string& path, const std::vector<char>& bytes, const std::string& what);

}  // namespace segdistill

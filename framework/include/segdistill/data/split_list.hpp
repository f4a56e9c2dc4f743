#pragma once
// Split list files: one sample id per line, as VOC's ImageSets and COCO-Stuff's lists
// hold them. Ids become paths to read and, with eval --save-pred, to write, so each must
// name a file inside the data root.
#include <cstdint>
#include <string>
#include <vector>

#include "segdistill/core/api.hpp"

namespace segdistill {

// Split lists are read whole; VOC's and COCO-Stuff's are under 300 KB.
inline constexpr std::uint64_t kMaxSplitListBytes = std::uint64_t{64} << 20;

// The ids of a list file, in order, blank lines skipped, anything after an id's first
// space or tab ignored (converted lists add the label path). Error naming `config_key`
// and the file when it is missing, not a regular file, over kMaxSplitListBytes or
// empty, and naming the file and line of an id that is not a relative name inside the
// data root: an absolute path, a '..', '.' or empty component, or a control character.
SEGDISTILL_API std::vector<std::string> read_split_list(const std::string& path, const std::string& config_key);

}  // namespace segdistill

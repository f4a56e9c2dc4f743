#pragma once
// Outputs never replace inputs: checks for the commands that write next to data
// (predict's masks, eval's saved predictions and overlays).
#include <string>
#include <vector>

#include "segdistill/core/api.hpp"

namespace segdistill {

// Error naming `option`, the target and the input when writing `target` would replace
// one of `inputs` (the same file through any path or link). Inputs that do not exist
// are ignored.
SEGDISTILL_API void refuse_overwriting_inputs(const std::string& option, const std::string& target,
                                              const std::vector<std::string>& inputs);

// `folder`/`id``extension`, or an Error naming `option` and the id when that path would
// leave `folder` (an id that is absolute or climbs with '..': data set plugins other than
// the shipped ones may not refuse such ids themselves).
SEGDISTILL_API std::string output_file_inside(const std::string& option, const std::string& folder, const std::string& id,
                                              const std::string& extension);

// Error naming `option` when `folder` is the folder `input_file` lies in: an output
// folder that is an input folder (images, labels) would mix results into the data.
SEGDISTILL_API void refuse_input_folder(const std::string& option, const std::string& folder, const std::string& input_file,
                                        const std::string& what);

}  // namespace segdistill

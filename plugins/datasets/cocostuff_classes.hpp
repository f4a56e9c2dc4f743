#pragma once
#include <string>
#include <vector>

namespace segdistill::datasets_plugin {

// COCO-Stuff's 182 label names, index = S - 1 (S: the 1-based value stored in the .mat).
const std::vector<std::string>& cocostuff_182_names();

// The 1-based COCO thing ids that COCO-Stuff never annotates (dropped by the 171-class
// convention).
const std::vector<int>& cocostuff_unused_ids();

}  // namespace segdistill::datasets_plugin

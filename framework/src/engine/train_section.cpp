#include "segdistill/engine/train_section.hpp"

namespace segdistill {

DistillerKeys read_distiller_keys(const ConfigTable& table) {
  std::vector<std::string> others;
  for (const auto& key : table.keys())
    if (key != "student_feature" && key != "teacher_feature" && key != "weight" && key != "name") others.push_back(key);
  return parse_options<DistillerKeys>(table, others);
}

}  // namespace segdistill

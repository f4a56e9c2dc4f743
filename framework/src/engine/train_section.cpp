#include "segdistill/engine/train_section.hpp"

#include <algorithm>

#include "segdistill/core/check.hpp"

namespace segdistill {

namespace {

// One side's feature names: the single key or the list, exactly one of them.
std::vector<std::string> feature_names(const ConfigTable& table, const std::optional<std::string>& single,
                                       const std::optional<std::vector<std::string>>& list, const std::string& side) {
  require(single.has_value() != list.has_value(), "{}: give either {}_feature = \"NAME\" or {}_features = [\"NAME\", ...]{}",
          table.locate(), side, side, single ? " (both are set)" : " (neither is set)");
  if (single) return {*single};
  require(!list->empty(), "{}: the list is empty; name at least one feature", table.locate(side + "_features"));
  return *list;
}

}  // namespace

DistillerKeys read_distiller_keys(const ConfigTable& table) {
  static const std::vector<std::string> kOwn = {"student_feature",  "teacher_feature", "student_features",
                                                "teacher_features", "weight",          "name"};
  std::vector<std::string> others;
  for (const auto& key : table.keys())
    if (std::find(kOwn.begin(), kOwn.end(), key) == kOwn.end()) others.push_back(key);
  DistillerKeys keys = parse_options<DistillerKeys>(table, others);
  keys.student_names = feature_names(table, keys.student_feature, keys.student_features, "student");
  keys.teacher_names = feature_names(table, keys.teacher_feature, keys.teacher_features, "teacher");
  require(keys.student_names.size() == keys.teacher_names.size(),
          "{}: student_features has {} entries and teacher_features {}; they pair up, so give as many of each", table.locate(),
          keys.student_names.size(), keys.teacher_names.size());
  return keys;
}

}  // namespace segdistill

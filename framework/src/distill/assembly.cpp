#include "segdistill/distill/assembly.hpp"

#include <algorithm>
#include <map>

#include "segdistill/core/check.hpp"
#include "segdistill/modeling/segmentor.hpp"
#include "segdistill/plugin/registries.hpp"

namespace segdistill {

namespace {

// One side's feature names: the single key, the list (a LevelDistiller's), or the
// distiller's declared defaults.
std::vector<std::string> side_features(const ConfigTable& table, const std::string& type, const DistillerInputs& inputs,
                                       const std::optional<std::string>& single,
                                       const std::optional<std::vector<std::string>>& list, const std::string& side) {
  require(!(single && list), "{}: give either {}_feature = \"NAME\" or {}_features = [\"NAME\", ...] (both are set)",
          table.locate(), side, side);
  if (list) {
    require(inputs.levels,
            "{}: '{}' distils one feature pair: give student_feature and teacher_feature instead of the lists "
            "student_features/teacher_features (those are for multi-level distillers such as reviewkd)",
            table.locate(side + "_features"), type);
    require(!list->empty(), "{}: the list is empty; name at least one feature", table.locate(side + "_features"));
    return *list;
  }
  if (single) return {*single};
  const std::vector<std::string>& defaults = side == "student" ? inputs.defaults.student : inputs.defaults.teacher;
  require(!defaults.empty(), "{}: '{}' has no default {} feature: give {}", table.locate(), type, side,
          inputs.levels ? side + "_features = [\"NAME\", ...]" : side + "_feature = \"NAME\"");
  return defaults;
}

FeatureList gather(const AssembledDistiller& d, const FeatureMap& features, const std::vector<std::string>& names,
                   const char* side) {
  FeatureList out;
  out.reserve(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto it = features.find(names[i]);
    if (it != features.end()) {
      out.push_back(it->second);
      continue;
    }
    std::string available;
    for (const auto& [name, tensor] : features) available += (available.empty() ? "" : ", ") + name;
    const std::string key = names.size() > 1 ? fmt::format("{}_features.{}", side, i) : fmt::format("{}_feature", side);
    throw Error(fmt::format("{}.{} ('{}'): the {}'s forward pass has no feature '{}'; it has: {}", d.config_key, key, d.type,
                            side, names[i], available));
  }
  return out;
}

}  // namespace

DistillerKeys read_distiller_keys(const ConfigTable& table) {
  const std::string type = distillers().resolve(table).name;
  const DistillerInputs& inputs = distillers().inputs(type);
  const std::vector<std::string>& reserved = distillers().reserved_keys();
  std::vector<std::string> others;
  for (const auto& key : table.keys())
    if (key == "type" || std::find(reserved.begin(), reserved.end(), key) == reserved.end()) others.push_back(key);
  DistillerKeys keys = parse_options<DistillerKeys>(table, others);
  keys.student_names = side_features(table, type, inputs, keys.student_feature, keys.student_features, "student");
  keys.teacher_names = side_features(table, type, inputs, keys.teacher_feature, keys.teacher_features, "teacher");
  require(keys.student_names.size() == keys.teacher_names.size(),
          "{}: {} student features and {} teacher features; they pair up, so give as many of each", table.locate(),
          keys.student_names.size(), keys.teacher_names.size());
  return keys;
}

std::vector<AssembledDistiller> build_distillers(const Config& config, const Segmentor& student, const Segmentor& teacher,
                                                 SharedModules& shared, const DistillerRunFacts& facts) {
  const auto tables = config.root().tables("distillers");
  std::vector<AssembledDistiller> built;
  std::map<std::string, int> name_count;
  for (std::size_t i = 0; i < tables.size(); ++i) {
    AssembledDistiller d;
    d.config_key = "distillers." + std::to_string(i);
    d.type = tables[i].string("type");
    const DistillerKeys keys = read_distiller_keys(tables[i]);
    DistillerContext context;
    context.config_key = d.config_key;
    const bool lists = keys.student_features.has_value();
    for (std::size_t level = 0; level < keys.student_names.size(); ++level) {
      const std::string index = lists ? "s." + std::to_string(level) : "";
      context.student_features.push_back(
          student.feature_spec(keys.student_names[level], d.config_key + ".student_feature" + index + " (student)"));
      context.teacher_features.push_back(
          teacher.feature_spec(keys.teacher_names[level], d.config_key + ".teacher_feature" + index + " (teacher)"));
    }
    context.num_classes = student.num_classes();
    context.ignore_index = facts.ignore_index;
    context.seed = facts.seed;
    context.shared = &shared;
    d.module = distillers().create(tables[i], context);
    const std::string name = keys.name ? *keys.name : d.type;
    const int seen = name_count[name]++;
    d.loss_name = "loss_" + (seen == 0 ? name : name + "_" + std::to_string(seen));
    d.weight = keys.weight;
    d.student_features = keys.student_names;
    d.teacher_features = keys.teacher_names;
    built.push_back(std::move(d));
  }
  return built;
}

DistillLosses distill_step(const AssembledDistiller& distiller, const FeatureMap& student, const FeatureMap& teacher,
                           const at::Tensor& labels) {
  return distiller.module->distill(gather(distiller, student, distiller.student_features, "student"),
                                   gather(distiller, teacher, distiller.teacher_features, "teacher"), labels);
}

}  // namespace segdistill

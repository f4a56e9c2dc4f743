#include "segdistill/config/sections.hpp"

#include <algorithm>

#include "segdistill/core/closest_match.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/data/sections.hpp"
#include "segdistill/distill/assembly.hpp"
#include "segdistill/engine/train_section.hpp"
#include "segdistill/evaluation/inference.hpp"
#include "segdistill/plugin/registries.hpp"

namespace segdistill {

namespace {
// The framework's keys of each split (pipeline, on_bad_sample); the data set checked its own.
void check_data_splits(const ConfigTable& data) {
  for (const char* split : {"train", "val", "test"}) {
    if (!data.contains(split)) continue;
    read_split_keys(data.table(split));
  }
}
void check_optimizer(const ConfigTable& train) {
  if (train.contains("optimizer")) parse_options<OptimizerOptions>(train.table("optimizer"));
}

}  // namespace

const std::vector<SectionSpec>& config_sections() {
  static const std::vector<SectionSpec> sections{
      {"model", "the network trained (the student of a distillation run)", schema_of<ModelSection>(), false, "", {}},
      {"teacher", "the frozen network a distillation run learns from", schema_of<TeacherSection>(), false, "", {}},
      {"distillers", "distillation terms ([[distillers]], one table each)", schema_of<DistillerKeys>(), true, "distillers",
       [](const ConfigTable& table) { read_distiller_keys(table); }},
      {"hooks", "hooks added to training ([[hooks]], one table each; optional priority)", schema_of<HookKeys>(), true, "hooks",
       [](const ConfigTable& table) { read_hook_priority(table); }},
      {"train", "optimisation, schedule, checkpoints, validation", schema_of<TrainSection>(), false, "", check_optimizer},
      {"data", "data sets, splits and their pipelines", schema_of<DataSection>(), false, "", check_data_splits},
      {"eval",
       "how validation and `eval` run the model: modes, scales, flip, mIoU rule",
       schema_of<EvalSection>(),
       false,
       "",
       {}},
      {"plugins", "where plugin libraries are found", schema_of<PluginsSection>(), false, "", {}},
  };
  return sections;
}

void validate_config(const Config& config) {
  const ConfigTable root = config.root();
  const auto& sections = config_sections();
  for (const auto& key : root.keys()) {
    auto it = std::find_if(sections.begin(), sections.end(), [&](const SectionSpec& s) { return s.key == key; });
    if (it == sections.end()) {
      std::vector<std::string> valid;
      for (const auto& s : sections) valid.push_back(s.key);
      UnknownName(root.locate(key) + ": unknown section", key, valid).listed_as("valid sections").raise();
    }
    if (it->array_of_tables) {
      const RegistryBase* registry = find_registry(it->component_kind);
      for (const auto& table : root.tables(key)) {
        registry->validate(table);
        if (it->extra_check) it->extra_check(table);
      }
    } else {
      read_fields(root.table(key), it->schema);
      if (it->extra_check) it->extra_check(root.table(key));
    }
  }
}

}  // namespace segdistill

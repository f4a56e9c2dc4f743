#include "segdistill/config_sections.hpp"

#include <algorithm>

#include "segdistill/closest_match.hpp"
#include "segdistill/data_sections.hpp"
#include "segdistill/inference.hpp"
#include "segdistill/train_section.hpp"
#include "segdistill/error.hpp"
#include "segdistill/registries.hpp"

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
      {"distillers", "distillation terms ([[distillers]], one table each)", schema_of<DistillerKeys>(), true, "distillers", {}},
      {"train", "optimisation, schedule, checkpoints, validation", schema_of<TrainSection>(), false, "", check_optimizer},
      {"data", "data sets, splits and their pipelines", schema_of<DataSection>(), false, "", check_data_splits},
      {"eval", "how validation and `eval` run the model: modes, scales, flip, mIoU rule", schema_of<EvalSection>(), false, "", {}},
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
      std::string message = root.locate(key) + ": unknown section '" + key + "'";
      if (auto best = closest_match(key, valid)) message += " (did you mean '" + *best + "'?)";
      throw Error(message + "; valid sections: " + describe_choices(key, valid));
    }
    if (it->array_of_tables) {
      const RegistryBase* registry = find_registry(it->component_kind);
      for (const auto& table : root.tables(key)) {
        registry->validate(table);
        read_distiller_keys(table);
      }
    } else {
      read_fields(root.table(key), it->schema);
      if (it->extra_check) it->extra_check(root.table(key));
    }
  }
}

}  // namespace segdistill

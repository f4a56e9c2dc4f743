// [train] and [[hooks]] among the config's sections.
#include "segdistill/config/sections.hpp"
#include "segdistill/engine/train_section.hpp"
#include "segdistill/plugin/registries.hpp"

namespace segdistill {

namespace {

void check_optimizer(const ConfigTable& train) {
  if (train.contains("optimizer")) parse_options<OptimizerOptions>(train.table("optimizer"));
}

void check_hook(const ConfigTable& table) {
  hooks().validate(table);
  read_hook_priority(table);
}

const SectionRegistration kTrainSection{{"train", "optimisation, schedule, checkpoints, validation", schema_of<TrainSection>(),
                                         false, "", check_optimizer, section_order::kTrain}};
const SectionRegistration kHooksSection{{"hooks", "hooks added to training ([[hooks]], one table each; optional priority)",
                                         schema_of<HookKeys>(), true, "hooks", check_hook, section_order::kHooks}};

}  // namespace

}  // namespace segdistill

// [train] and [[hooks]] among the config's sections.
#include "segdistill/config/sections.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/engine/train_section.hpp"
#include "segdistill/plugin/registries.hpp"

namespace segdistill {

OptimizerOptions optimizer_options(const ConfigTable& optimizer) {
  OptimizerOptions o = parse_options<OptimizerOptions>(optimizer);
  const bool adamw = o.type == "adamw";
  for (const char* key : {"momentum", "nesterov", "betas", "eps"}) {
    const bool sgd_key = std::string(key) == "momentum" || std::string(key) == "nesterov";
    if (optimizer.contains(key) && sgd_key == adamw)
      throw Error(std::string("train.optimizer.") + key + ": an option of type '" + (adamw ? "sgd" : "adamw") +
                  "', but train.optimizer.type is '" + o.type + "' (" +
                  (adamw ? "adamw takes lr, betas, eps, weight_decay" : "sgd takes lr, momentum, nesterov, weight_decay") + ")");
  }
  if (o.betas.size() != 2)
    throw Error("train.optimizer.betas: expected [beta1, beta2], got " + std::to_string(o.betas.size()) + " values");
  return o;
}

namespace {

void check_optimizer(const ConfigTable& train) {
  if (train.contains("optimizer")) optimizer_options(train.table("optimizer"));
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

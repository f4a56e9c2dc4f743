// [[distillers]] among the config's sections.
#include "segdistill/config/sections.hpp"
#include "segdistill/distill/assembly.hpp"
#include "segdistill/plugin/registries.hpp"

namespace segdistill {

namespace {

void check_distiller(const ConfigTable& table) {
  distillers().validate(table);
  read_distiller_keys(table);
}

const SectionRegistration kDistillersSection{{"distillers", "distillation terms ([[distillers]], one table each)",
                                              schema_of<DistillerKeys>(), true, "distillers", check_distiller,
                                              section_order::kDistillers}};

}  // namespace

}  // namespace segdistill

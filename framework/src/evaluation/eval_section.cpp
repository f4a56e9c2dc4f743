// [eval] among the config's sections.
#include "segdistill/config/sections.hpp"
#include "segdistill/evaluation/inference.hpp"

namespace segdistill {

namespace {
const SectionRegistration kEvalSection{{"eval",
                                        "how validation and `eval` run the model: modes, scales, flip, mIoU rule",
                                        schema_of<EvalSection>(),
                                        false,
                                        "",
                                        {},
                                        section_order::kEval}};
}  // namespace

}  // namespace segdistill

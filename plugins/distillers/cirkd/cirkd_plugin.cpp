// The distillers of the CIRKD toolbox, named cirkd_*: its own formulations, which differ
// from the TaT paper's comparison distillers (`kd_width`, `at`, `fitnet_plain`) and from
// the generic `kd` / `fitnet`.
#include "cirkd_distillers.hpp"

namespace segdistill::cirkd {
namespace {
void register_cirkd(PluginRegistrar& registrar) {
  register_logit_distillers(registrar);
  register_feature_distillers(registrar);
  register_similarity_distillers(registrar);
  register_ifvd_distiller(registrar);
  register_memory_distiller(registrar);
  register_adversarial_distiller(registrar);
  register_channel_distiller(registrar);
}
}  // namespace
}  // namespace segdistill::cirkd

SEGDISTILL_PLUGIN("cirkd_distillers", "1.0.0", segdistill::cirkd::register_cirkd)

#pragma once
// The CIRKD toolbox's distillation losses (its facts' section 1), computed as it computes
// them. Each file registers a family.
#include "segdistill/sdk.hpp"

namespace segdistill::cirkd {

void register_logit_distillers(PluginRegistrar& registrar);       // cirkd_kd, cirkd_cwd, cirkd_csd
void register_feature_distillers(PluginRegistrar& registrar);     // cirkd_at, cirkd_fitnet, cirkd_psd
void register_similarity_distillers(PluginRegistrar& registrar);  // cirkd_skd, cirkd_minibatch_pixel
void register_ifvd_distiller(PluginRegistrar& registrar);         // cirkd_ifvd (labels)
void register_memory_distiller(PluginRegistrar& registrar);       // cirkd_memory (labels, memories)
void register_adversarial_distiller(PluginRegistrar& registrar);  // cirkd_adversarial (its own discriminator)
void register_channel_distiller(PluginRegistrar& registrar);      // cirkd_channel (CIRKDV2, a memory)

}  // namespace segdistill::cirkd

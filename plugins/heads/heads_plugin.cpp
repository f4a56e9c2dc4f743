// The heads plugin: DeepLabV3+ (ASPP + decoder) and a plain FCN head.
#include <torch/torch.h>

#include "deeplabv3plus.hpp"
#include "fcn.hpp"
#include "segdistill/plugin/plugin_api.hpp"

namespace segdistill::heads_plugin {
namespace {

void register_heads(PluginRegistrar& registrar) {
  registrar.add_class<DeepLabV3PlusHead, DeepLabV3PlusOptions>(
      heads(), "deeplabv3plus", "ASPP + decoder of DeepLabV3+ (exposes head.aspp, head.aspp_pre_relu, head.decoder)");
  registrar.add_class<FcnHead, FcnOptions>(heads(), "fcn", "3x3 conv + BN + ReLU + 1x1 classifier on the backbone output");
}

}  // namespace
}  // namespace segdistill::heads_plugin

SEGDISTILL_PLUGIN("heads", "1.0.0", segdistill::heads_plugin::register_heads)

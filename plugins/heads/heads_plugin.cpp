// The heads plugin: DeepLabV3+ (ASPP + decoder), a plain FCN head, and the CIRKD toolbox's
// DeepLabV3, PSPNet, UPerNet and SegFormer heads.
#include <torch/torch.h>

#include "deeplabv3plus.hpp"
#include "fcn.hpp"
#include "segdistill/plugin/plugin_api.hpp"
#include "toolbox_deeplabv3.hpp"
#include "toolbox_pspnet.hpp"
#include "toolbox_segformer.hpp"
#include "toolbox_upernet.hpp"

namespace segdistill::heads_plugin {
namespace {

void register_heads(PluginRegistrar& registrar) {
  registrar.add_class<DeepLabV3PlusHead, DeepLabV3PlusOptions>(
      heads(), "deeplabv3plus", "ASPP + decoder of DeepLabV3+ (exposes head.aspp, head.aspp_pre_relu, head.decoder)");
  registrar.add_class<FcnHead, FcnOptions>(heads(), "fcn", "3x3 conv + BN + ReLU + 1x1 classifier on the backbone output");
  registrar.add_class<ToolboxDeepLabV3Head, ToolboxDeepLabV3Options>(
      heads(), "cirkd_deeplabv3",
      "the CIRKD toolbox's DeepLabV3 (ASPP + block; head.*, auxlayer.*; exposes head.feature, head.logits, head.aux_logits)");
  registrar.add_class<ToolboxPspHead, ToolboxPspOptions>(heads(), "cirkd_psp",
                                                         "the CIRKD toolbox's PSPNet (pyramid pooling + block; head.*, "
                                                         "auxlayer.*; exposes head.feature, head.logits, head.aux_logits)");
  registrar.add_class<ToolboxUperNetHead, ToolboxUperNetOptions>(
      heads(), "cirkd_upernet",
      "the CIRKD toolbox's UPerNet(-lite) (PPM + FPN; head.*, auxlayer.*; exposes head.feature, head.logits, head.aux_logits)");
  registrar.add_class<ToolboxSegFormerHead, ToolboxSegFormerOptions>(
      heads(), "cirkd_segformer",
      "the CIRKD toolbox's SegFormer all-MLP decoder (linear_c1..4, linear_fuse, linear_pred; exposes head.feature, "
      "head.logits)");
}

}  // namespace
}  // namespace segdistill::heads_plugin

SEGDISTILL_PLUGIN("heads", "1.0.0", segdistill::heads_plugin::register_heads)

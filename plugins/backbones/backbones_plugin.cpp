// The backbones plugin: ResNet-18/50/101, MobileNetV2, Aligned Xception and DRN-D-54 of the
// reference DeepLabV3+.
#include <torch/torch.h>

#include "drn.hpp"
#include "mobilenetv2.hpp"
#include "resnet.hpp"
#include "segdistill/plugin/plugin_api.hpp"
#include "xception.hpp"

namespace segdistill::backbones_plugin {
namespace {

void add_resnet(PluginRegistrar& registrar, const std::string& name, const std::string& help, ResNetLayout layout) {
  registrar.add<ResNetOptions>(backbones(), name, help,
                               [layout](const ResNetOptions& options) { return std::make_shared<ResNet>(layout, options); });
}

void register_backbones(PluginRegistrar& registrar) {
  add_resnet(registrar, "resnet18", "ResNet-18 (BasicBlock 2-2-2-2), dilated layer4", {BlockKind::Basic, {2, 2, 2, 2}});
  add_resnet(registrar, "resnet50", "ResNet-50 (Bottleneck 3-4-6-3), multi-grid layer4", {BlockKind::Bottleneck, {3, 4, 6, 3}});
  add_resnet(registrar, "resnet101", "ResNet-101 (Bottleneck 3-4-23-3), multi-grid layer4",
             {BlockKind::Bottleneck, {3, 4, 23, 3}});
  registrar.add_class<MobileNetV2, MobileNetV2Options>(backbones(), "mobilenetv2",
                                                       "MobileNetV2, dilated after the output stride");
  registrar.add_class<Xception, XceptionOptions>(backbones(), "xception",
                                                 "Aligned Xception (65 layers, separable convolutions), output stride 8 or 16");
  registrar.add_class<DrnD54, DrnOptions>(backbones(), "drn_d_54",
                                          "DRN-D-54 (dilated residual network, Bottleneck 3-4-6-3), output stride 8");
}

}  // namespace
}  // namespace segdistill::backbones_plugin

SEGDISTILL_PLUGIN("backbones", "1.0.0", segdistill::backbones_plugin::register_backbones)

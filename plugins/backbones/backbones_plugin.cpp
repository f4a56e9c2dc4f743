// The backbones plugin: ResNet-18/50/101, MobileNetV2, Aligned Xception and DRN-D-54 of the
// reference DeepLabV3+; the CIRKD toolbox's ResNet v1s, MobileNetV2, MobileNetV3, MobileViT-XXS and the
// Mix Transformers of its SegFormer.
#include <torch/torch.h>

#include "drn.hpp"
#include "mix_transformer.hpp"
#include "mobilenetv2.hpp"
#include "mobilenetv2_dilated.hpp"
#include "mobilenetv3.hpp"
#include "mobilevit.hpp"
#include "resnet.hpp"
#include "resnet_v1s.hpp"
#include "segdistill/plugin/plugin_api.hpp"
#include "xception.hpp"

namespace segdistill::backbones_plugin {
namespace {

void add_resnet(PluginRegistrar& registrar, const std::string& name, const std::string& help, ResNetLayout layout) {
  registrar.add<ResNetOptions>(backbones(), name, help,
                               [layout](const ResNetOptions& options) { return std::make_shared<ResNet>(layout, options); });
}

void add_resnet_v1s(PluginRegistrar& registrar, const std::string& name, const std::string& help, bool bottleneck,
                    std::array<std::int64_t, 4> blocks) {
  registrar.add<ResNetV1sOptions>(backbones(), name, help, [bottleneck, blocks](const ResNetV1sOptions& options) {
    return std::make_shared<ResNetV1s>(bottleneck, blocks, options);
  });
}

void add_mobilenetv3(PluginRegistrar& registrar, const std::string& name, const std::string& help, bool large) {
  registrar.add<MobileNetV3Options>(backbones(), name, help, [large](const MobileNetV3Options& options) {
    return std::make_shared<MobileNetV3>(large, options);
  });
}

void add_mix_transformer(PluginRegistrar& registrar, const std::string& name, const std::string& help,
                         const MixTransformerLayout& layout) {
  registrar.add<MixTransformerOptions>(backbones(), name, help, [layout](const MixTransformerOptions& options) {
    return std::make_shared<MixTransformer>(layout, options);
  });
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
  const std::string v1s = " (the CIRKD toolbox: deep stem, dilated, output stride 8; layer1..4, out)";
  add_resnet_v1s(registrar, "resnet18_v1s", "ResNet-18 v1s" + v1s, false, {2, 2, 2, 2});
  add_resnet_v1s(registrar, "resnet50_v1s", "ResNet-50 v1s" + v1s, true, {3, 4, 6, 3});
  add_resnet_v1s(registrar, "resnet101_v1s", "ResNet-101 v1s" + v1s, true, {3, 4, 23, 3});
  add_mobilenetv3(registrar, "mobilenetv3_small",
                  "MobileNetV3-Small of the CIRKD toolbox (sssegmentation), output stride 8, 576 channels", false);
  add_mobilenetv3(registrar, "mobilenetv3_large",
                  "MobileNetV3-Large of the CIRKD toolbox (sssegmentation), output stride 8, 960 channels", true);
  registrar.add_class<DilatedMobileNetV2, DilatedMobileNetV2Options>(
      backbones(), "mobilenetv2_dilated",
      "MobileNetV2 of the CIRKD toolbox (net.features.N, ReLU6), dilated to output stride 8, 320 channels");
  registrar.add_class<MobileViT, MobileViTOptions>(
      backbones(), "mobilevit_xxs", "MobileViT-XXS of the CIRKD toolbox (mmpretrain), output stride 8, 320 channels");
  add_mix_transformer(registrar, "mit_b0", "Mix Transformer B0 (SegFormer; layer1..4 at 1/4..1/32, 32..256 channels)",
                      {{32, 64, 160, 256}, {1, 2, 5, 8}, {2, 2, 2, 2}, {8, 4, 2, 1}});
  add_mix_transformer(registrar, "mit_b4", "Mix Transformer B4 (SegFormer; layer1..4 at 1/4..1/32, 64..512 channels)",
                      {{64, 128, 320, 512}, {1, 2, 5, 8}, {3, 8, 27, 3}, {8, 4, 2, 1}});
}

}  // namespace
}  // namespace segdistill::backbones_plugin

SEGDISTILL_PLUGIN("backbones", "1.0.0", segdistill::backbones_plugin::register_backbones)

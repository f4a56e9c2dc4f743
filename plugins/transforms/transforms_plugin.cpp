// The transforms plugin: the published training and validation pipelines' steps.
#include "segdistill/plugin_api.hpp"
#include "transforms.hpp"

namespace segdistill::transforms_plugin {
namespace {

void register_transforms(PluginRegistrar& r) {
  r.add<RandomScaleCropOptions>(transforms(), "random_scale_crop",
                                "random short-side scale of base_size, pad (label: ignore), random crop",
                                [](const RandomScaleCropOptions& o, const TransformContext& c) {
                                  return std::make_shared<RandomScaleCrop>(o, c);
                                });
  r.add<RandomFlipOptions>(transforms(), "random_flip", "horizontal flip of image and label with a probability",
                           [](const RandomFlipOptions& o, const TransformContext&) { return std::make_shared<RandomFlip>(o); });
  r.add<GaussianBlurOptions>(transforms(), "gaussian_blur", "Gaussian blur of the image with a random sigma",
                             [](const GaussianBlurOptions& o, const TransformContext&) { return std::make_shared<GaussianBlur>(o); });
  r.add<NormalizeOptions>(transforms(), "normalize", "(pixel / scale - mean) / std per RGB channel, as float",
                          [](const NormalizeOptions& o, const TransformContext&) { return std::make_shared<Normalize>(o); });
  r.add<ResizeOptions>(transforms(), "resize", "resize to a fixed size (label nearest)",
                       [](const ResizeOptions& o, const TransformContext&) { return std::make_shared<Resize>(o); });
  r.add<PadToOptions>(transforms(), "pad_to", "pad bottom/right to a size and/or a multiple (label: ignore)",
                      [](const PadToOptions& o, const TransformContext& c) { return std::make_shared<PadTo>(o, c); });
}

}  // namespace
}  // namespace segdistill::transforms_plugin

SEGDISTILL_PLUGIN("transforms", "1.0.0", segdistill::transforms_plugin::register_transforms)

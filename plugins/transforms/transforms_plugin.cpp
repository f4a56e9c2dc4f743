// The transforms plugin: the published training and validation pipelines' steps.
#include "segdistill/plugin/plugin_api.hpp"
#include "transforms.hpp"

namespace segdistill::transforms_plugin {
namespace {

void register_transforms(PluginRegistrar& r) {
  r.add_class<RandomScaleCrop, RandomScaleCropOptions>(transforms(), "random_scale_crop",
                                                       "random short-side scale of base_size, pad (label: ignore), random crop");
  r.add_class<RandomFactorScaleCrop, RandomFactorScaleCropOptions>(
      transforms(), "random_factor_scale_crop",
      "scale by a factor drawn from a list (the CIRKD toolbox's 0.5..2.0), pad (label: ignore), random crop");
  r.add_class<RandomFlip, RandomFlipOptions>(transforms(), "random_flip",
                                             "horizontal flip of image and label with a probability");
  r.add_class<GaussianBlur, GaussianBlurOptions>(transforms(), "gaussian_blur", "Gaussian blur of the image with a random sigma");
  r.add_class<Normalize, NormalizeOptions>(transforms(), "normalize", "(pixel / scale - mean) / std per RGB channel, as float");
  r.add_class<Resize, ResizeOptions>(transforms(), "resize", "resize to a fixed size (label nearest)");
  r.add_class<PadTo, PadToOptions>(transforms(), "pad_to", "pad bottom/right to a size and/or a multiple (label: ignore)");
}

}  // namespace
}  // namespace segdistill::transforms_plugin

SEGDISTILL_PLUGIN("transforms", "1.0.0", segdistill::transforms_plugin::register_transforms)

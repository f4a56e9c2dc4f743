#include "segdistill/distill/feature_resize.hpp"

#include <torch/torch.h>

#include "segdistill/core/check.hpp"
#include "segdistill/modeling/resize.hpp"

namespace segdistill {

at::Tensor resize_like(const at::Tensor& feature, const at::Tensor& reference, AlignCorners corners) {
  require(feature.dim() == 4 && reference.dim() == 4, "resize_like: expected N x C x H x W features, got {} and {} dimensions",
          feature.dim(), reference.dim());
  if (feature.size(2) == reference.size(2) && feature.size(3) == reference.size(3)) return feature;
  if (corners == AlignCorners::kYes)
    return resize_bilinear(feature, reference.size(2), reference.size(3), feature.suggest_memory_format());
  namespace F = torch::nn::functional;
  return F::interpolate(feature, F::InterpolateFuncOptions()
                                     .size(std::vector<std::int64_t>{reference.size(2), reference.size(3)})
                                     .mode(torch::kBilinear)
                                     .align_corners(corners == AlignCorners::kYes));
}

}  // namespace segdistill

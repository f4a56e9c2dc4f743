#pragma once
// Distillers compare features of networks whose strides differ (a student's stride-8
// feature against a teacher's stride-16 one): one helper brings them to one size.
#include <ATen/core/Tensor.h>

#include "segdistill/core/api.hpp"

namespace segdistill {

// Bilinear sampling grid: align_corners of torch.nn.functional.interpolate. The
// published comparison distillers use kYes; attention transfer kNo.
enum class AlignCorners : bool { kNo = false, kYes = true };

// `feature` (N x C x H x W) resized bilinearly to the height and width of `reference`
// (N x C' x H' x W'); `feature` itself when they already match, so nothing is copied.
SEGDISTILL_API at::Tensor resize_like(const at::Tensor& feature, const at::Tensor& reference, AlignCorners corners);

}  // namespace segdistill

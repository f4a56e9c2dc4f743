#pragma once
// Turning images into logits: whole-image or sliding-window inference, multi-scale and
// flip averaging. `eval`, `predict` and training-time validation share it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "segdistill/config/schema.hpp"
#include "segdistill/core/api.hpp"

namespace segdistill {

class Segmentor;

// The [eval] section.
struct EvalSection {
  std::string mode;
  std::vector<std::int64_t> crop;
  std::vector<std::int64_t> stride;
  std::vector<double> scales;
  bool flip;
  std::optional<std::int64_t> resize_to;
  std::string mean_over;
  std::int64_t batch_size;
  std::int64_t size_divisor;
  std::string precision;
  static void declare(Schema<EvalSection>& s) {
    s.field("mode", &EvalSection::mode, "'whole' image (padded to size_divisor) or 'slide' (crop windows, overlaps averaged)")
        .default_value(std::string("whole"))
        .one_of({"whole", "slide"});
    s.field("crop", &EvalSection::crop, "slide: window [height, width]")
        .default_value(std::vector<std::int64_t>{513, 513})
        .at_least(1);
    s.field("stride", &EvalSection::stride, "slide: step [height, width]")
        .default_value(std::vector<std::int64_t>{341, 341})
        .at_least(1);
    s.field("scales", &EvalSection::scales, "image scales whose logits are averaged")
        .default_value(std::vector<double>{1.0})
        .range(0.05, 8);
    s.field("flip", &EvalSection::flip, "also run on the horizontally flipped image and average").default_value(false);
    s.field("resize_to", &EvalSection::resize_to,
            "evaluate at N x N: image and label resized (label nearest), the published protocol")
        .at_least(1);
    s.field("mean_over", &EvalSection::mean_over,
            "classes in mIoU: 'union' (non-zero union), 'present' (with ground truth), 'all'")
        .default_value(std::string("union"))
        .one_of({"union", "present", "all"});
    s.field("batch_size", &EvalSection::batch_size, "images per forward pass (needs images of one size)")
        .default_value(1)
        .at_least(1);
    s.field("size_divisor", &EvalSection::size_divisor,
            "whole: pad images to a multiple of this (0: the output stride; 1: no padding, the published protocol)")
        .default_value(0)
        .at_least(0);
    s.field("precision", &EvalSection::precision,
            "fp32, or bf16 (CPUs with AVX512-BF16 or AMX, CUDA) or fp16 (CUDA) for the forward passes of eval, predict "
            "and validation during training; logits are averaged and compared in fp32")
        .default_value(std::string("fp32"))
        .one_of({std::string("fp32"), std::string("bf16"), std::string("fp16")});
  }
};

// The config's [eval] (defaults when absent).
SEGDISTILL_API EvalSection eval_options(const class Config& config);

// Logits (N x classes x H x W) of `images` (N x 3 x H x W) at their own size, with the
// model in eval mode and no gradients. Errors name the [eval] key at fault.
SEGDISTILL_API at::Tensor infer_logits(Segmentor& model, const at::Tensor& images, const EvalSection& options);

}  // namespace segdistill

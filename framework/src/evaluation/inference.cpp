#include "segdistill/evaluation/inference.hpp"

#include <torch/torch.h>

#include "segdistill/config/config.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/modeling/segmentor.hpp"
#include "segdistill/runtime/channels_last.hpp"
#include "segdistill/runtime/precision.hpp"

namespace F = torch::nn::functional;

namespace segdistill {

EvalSection eval_options(const Config& config) {
  if (!config.root().contains("eval")) return parse_options<EvalSection>(ConfigTable());
  return parse_options<EvalSection>(config.root().table("eval"));
}

namespace {

at::Tensor resize(const at::Tensor& x, std::int64_t height, std::int64_t width) {
  if (x.size(2) == height && x.size(3) == width) return x;
  return F::interpolate(
      x, F::InterpolateFuncOptions().size(std::vector<std::int64_t>{height, width}).mode(torch::kBilinear).align_corners(false));
}

// How the forward passes run: eval.precision, and the input in the model's memory format.
struct ForwardMode {
  Precision precision = Precision::kFp32;
  bool channels_last = false;
};

// Pads bottom/right to a multiple of `divisor`, runs the model, crops the logits back (fp32).
at::Tensor whole(Segmentor& model, const at::Tensor& images, std::int64_t divisor, const ForwardMode& mode) {
  const std::int64_t h = images.size(2), w = images.size(3);
  const std::int64_t ph = (h + divisor - 1) / divisor * divisor, pw = (w + divisor - 1) / divisor * divisor;
  at::Tensor input = images;
  if (ph != h || pw != w) input = F::pad(images, F::PadFuncOptions({0, pw - w, 0, ph - h}));
  if (mode.channels_last) input = input.contiguous(at::MemoryFormat::ChannelsLast);
  at::Tensor logits;
  {
    AutocastScope autocast(input.device(), mode.precision);
    logits = model.forward(input).logits;
  }
  return logits.to(at::kFloat).narrow(2, 0, h).narrow(3, 0, w);
}

// Windows of `crop` every `stride`, the last one flush with the border; overlapping
// logits are averaged. A window never exceeds the image (each runs as a whole image),
// so on an image smaller than the crop, slide is whole-image inference.
at::Tensor slide(Segmentor& model, const at::Tensor& images, const std::vector<std::int64_t>& crop,
                 const std::vector<std::int64_t>& stride, std::int64_t divisor, const ForwardMode& mode) {
  if (crop.size() != 2 || stride.size() != 2) throw Error("eval.crop and eval.stride: expected [height, width]");
  const std::int64_t h = images.size(2), w = images.size(3);
  const std::int64_t ch = std::min(crop[0], h), cw = std::min(crop[1], w);
  const std::int64_t rows = std::max<std::int64_t>(0, (h - ch + stride[0] - 1) / stride[0]) + 1;
  const std::int64_t cols = std::max<std::int64_t>(0, (w - cw + stride[1] - 1) / stride[1]) + 1;
  at::Tensor sum, count = at::zeros({1, 1, h, w}, images.options());
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) {
      const std::int64_t y = std::min(r * stride[0], h - ch), x = std::min(c * stride[1], w - cw);
      at::Tensor logits = whole(model, images.narrow(2, y, ch).narrow(3, x, cw), divisor, mode);
      if (!sum.defined()) sum = at::zeros({images.size(0), logits.size(1), h, w}, logits.options());
      sum.narrow(2, y, ch).narrow(3, x, cw).add_(logits);
      count.narrow(2, y, ch).narrow(3, x, cw).add_(1);
    }
  }
  return sum / count;
}

}  // namespace

at::Tensor infer_logits(Segmentor& model, const at::Tensor& input, const EvalSection& options) {
  torch::NoGradGuard no_grad;
  model.eval();
  const at::Tensor images = input.to(model.parameters().front().device());
  std::int64_t divisor = options.size_divisor;
  if (divisor == 0) divisor = model.feature_spec("backbone.out", "eval.size_divisor").stride;
  ForwardMode mode;
  mode.precision = effective_precision(parse_precision(options.precision, "eval.precision"), images.device(), "eval.precision");
  mode.channels_last = uses_channels_last(model);
  const std::int64_t h = images.size(2), w = images.size(3);
  auto run = [&](const at::Tensor& batch) {
    return options.mode == "slide" ? slide(model, batch, options.crop, options.stride, divisor, mode)
                                   : whole(model, batch, divisor, mode);
  };
  at::Tensor total;
  int passes = 0;
  for (double scale : options.scales) {
    const auto sh = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::lround(static_cast<double>(h) * scale)));
    const auto sw = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::lround(static_cast<double>(w) * scale)));
    const at::Tensor scaled = resize(images, sh, sw);
    for (bool flipped : {false, true}) {
      if (flipped && !options.flip) continue;
      at::Tensor logits = flipped ? run(scaled.flip({3})).flip({3}) : run(scaled);
      logits = resize(logits, h, w);
      total = total.defined() ? total + logits : logits;
      ++passes;
    }
  }
  return total / passes;
}

}  // namespace segdistill

#pragma once
// Adam for a model a distiller trains itself, with its moments and step count kept as
// buffers of a module: the distiller's checkpoint holds them, so a resumed run continues
// the same steps. The update is PyTorch's Adam (no AMSGrad, no weight decay).
#include <torch/torch.h>

namespace segdistill::cirkd {

struct AdamSettings {
  double lr, beta1, beta2, eps;
};

class AdamBuffersImpl : public torch::nn::Module {
 public:
  explicit AdamBuffersImpl(const std::vector<at::Tensor>& parameters);
  // One step of every parameter that has a gradient.
  void step(const AdamSettings& settings);

 private:
  std::vector<at::Tensor> parameters_, exp_avg_, exp_avg_sq_;
  at::Tensor steps_;
};
TORCH_MODULE(AdamBuffers);

}  // namespace segdistill::cirkd

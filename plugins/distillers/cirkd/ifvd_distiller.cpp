// IFVD (its facts, 1.8): how far each pixel's feature is from its class's prototype in
// its image, as a cosine similarity; the student's similarities are made the teacher's.
#include "cirkd_distillers.hpp"
#include "toolbox_math.hpp"

namespace segdistill::cirkd {

namespace {

// Per image and class k (labels resized to the feature size, nearest), the prototype is
// sum / (count + 1e-6) of the class's feature vectors; each labelled pixel is compared
// with its class's prototype by cosine (eps 1e-8), others with themselves (cosine 1).
// L = mean over B h w of (cos_s - cos_t)^2. No module; the channel counts may differ.
class Ifvd : public LabelledPairDistiller {
 public:
  Ifvd(const NoOptions&, const DistillerContext& c) : context_(c) {}
  DistillLosses forward(const at::Tensor& s, const at::Tensor& t, const at::Tensor& labels) override {
    require_maps(s, t, context_, "cirkd_ifvd");
    require_labels(labels, s, context_, "cirkd_ifvd");
    const at::Tensor y = nearest_labels(labels, s.size(2), s.size(3)).flatten(1);  // B x hw
    const at::Tensor in_class = (y >= 0) & (y < context_.num_classes);
    const at::Tensor onehot = torch::one_hot(torch::where(in_class, y, torch::zeros_like(y)), context_.num_classes)
                                  .to(s.scalar_type())
                                  .mul(in_class.unsqueeze(2).to(s.scalar_type()));  // B x hw x K
    const at::Tensor cos_s = prototype_similarity(s.flatten(2), onehot, in_class);
    const at::Tensor cos_t = prototype_similarity(t.flatten(2), onehot, in_class).detach();
    return {{"cirkd_ifvd", (cos_s - cos_t).pow(2).mean()}};
  }

 private:
  // B x hw: the cosine of each pixel's vector (f: B x C x hw) with its class prototype.
  static at::Tensor prototype_similarity(const at::Tensor& f, const at::Tensor& onehot, const at::Tensor& in_class) {
    const at::Tensor count = onehot.sum(1);                                             // B x K
    const at::Tensor prototypes = torch::bmm(f, onehot) / (count.unsqueeze(1) + 1e-6);  // B x C x K
    const at::Tensor assigned = torch::where(in_class.unsqueeze(1), torch::bmm(prototypes, onehot.transpose(1, 2)), f);
    return (unit(f, 1, 1e-8) * unit(assigned, 1, 1e-8)).sum(1);
  }

  DistillerContext context_;
};

}  // namespace

void register_ifvd_distiller(PluginRegistrar& r) {
  r.add_distiller<Ifvd, NoOptions>("cirkd_ifvd",
                                   "the CIRKD toolbox's IFVD: cosine of each pixel's feature to its class prototype in "
                                   "its image, student's made the teacher's (MSE); takes the labels");
}

}  // namespace segdistill::cirkd

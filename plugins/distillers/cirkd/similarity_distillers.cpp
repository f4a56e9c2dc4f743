// Distillers of position-to-position similarities: the toolbox's structured KD, pair-wise
// part (SKD, 1.6), and CIRKD's mini-batch pixel-to-pixel term (1.10).
#include "cirkd_distillers.hpp"
#include "cross_image_pairs.hpp"
#include "gcn_adaptor.hpp"
#include "toolbox_math.hpp"

namespace segdistill::cirkd {

namespace {

// Per sample, the cosine similarities of every pair of positions of the 2 x 2 max-pooled
// map (stride 2, partial border windows); L = mean over B N N of (S_s - S_t)^2.
class Skd : public PairDistiller {
 public:
  Skd(const NoOptions&, const DistillerContext& c) : context_(c) {}
  DistillLosses forward(const at::Tensor& s, const at::Tensor& t) override {
    require_maps(s, t, context_, "cirkd_skd");
    return {{"cirkd_skd", (similarity(s) - similarity(t)).pow(2).mean()}};
  }

 private:
  static at::Tensor similarity(const at::Tensor& x) {
    const at::Tensor f = unit(torch::max_pool2d(x, {2, 2}, {2, 2}, {0, 0}, {1, 1}, /*ceil_mode=*/true).flatten(2), 1);
    return torch::matmul(f.transpose(1, 2), f);
  }

  DistillerContext context_;
};

struct MiniBatchOptions {
  double temperature;
  bool pool_large_maps, gcn;
  std::string pairs;
  static void declare(Schema<MiniBatchOptions>& s) {
    s.field("temperature", &MiniBatchOptions::temperature, "contrast temperature tau (the toolbox's 0.1)")
        .default_value(0.1)
        .range(1e-4, 1e3);
    s.field("pool_large_maps", &MiniBatchOptions::pool_large_maps,
            "4 x 4 average-pool maps of at least 256 x 256 first (the toolbox's current code); false: never (its v1)")
        .default_value(true);
    s.field("gcn", &MiniBatchOptions::gcn, kGcnOptionHelp).default_value(false);
    s.field("pairs", &MiniBatchOptions::pairs, kPairsOptionHelp).default_value(std::string("rank")).one_of({"rank", "global"});
  }
};

// For every ordered pair (i, j) of the batch's images, i = j included: S_ij = F_i^T F_j
// over the L2-normalised position vectors; l_ij = KL(softmax(S^t_ij / tau) ||
// softmax(S^s_ij / tau)) along each row, / the rows; L = sum l_ij / B^2. The batch is
// this process's, as in the toolbox, or with pairs = "global" the global batch.
class MiniBatchPixel : public PairDistiller {
 public:
  MiniBatchPixel(const MiniBatchOptions& o, const DistillerContext& c) : options_(o), context_(c) {
    if (o.gcn) gcn_ = shared_gcn(*this, c);
  }
  DistillLosses forward(const at::Tensor& s, const at::Tensor& t) override {
    require_maps(s, t, context_, "cirkd_minibatch_pixel");
    return {{"cirkd_minibatch_pixel", cross_image_kl(positions(gcn_ ? gcn_->forward(s) : s), positions(t), options_.temperature,
                                                     options_.pairs == "global")}};
  }

 private:
  // B x N x C: the unit channel vector of each position.
  at::Tensor positions(const at::Tensor& x) const {
    const bool pool = options_.pool_large_maps && x.size(2) >= 256 && x.size(3) >= 256;
    const at::Tensor pooled = pool ? torch::avg_pool2d(x, {4, 4}, {4, 4}, {0, 0}, /*ceil_mode=*/true) : x;
    return unit(pooled.flatten(2), 1).transpose(1, 2);
  }

  MiniBatchOptions options_;
  DistillerContext context_;
  Gcn gcn_{nullptr};
};

}  // namespace

void register_similarity_distillers(PluginRegistrar& r) {
  r.add_distiller<Skd, NoOptions>("cirkd_skd",
                                  "the CIRKD toolbox's SKD, pair-wise part: cosine similarities of all position pairs "
                                  "of 2x2 max-pooled maps, MSE");
  r.add_distiller<MiniBatchPixel, MiniBatchOptions>(
      "cirkd_minibatch_pixel",
      "CIRKD mini-batch pixel-to-pixel: KL of position-similarity distributions across every image pair of the batch");
}

}  // namespace segdistill::cirkd

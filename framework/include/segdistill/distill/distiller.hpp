#pragma once
// The distiller contract: a module that turns the student's and the teacher's features
// into losses. A distiller derives from PairDistiller (one feature of each network) or
// LevelDistiller (one per level, several pairs) or LabelledPairDistiller (one pair and the
// batch's labels) and is registered with PluginRegistrar::add_distiller: what it takes is
// known before anything is built, and the engine hands it exactly that, in the config's order.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "segdistill/core/api.hpp"
#include "segdistill/modeling/feature.hpp"

namespace segdistill {

// Modules that several distillers of one run share (TaT's embeddings when the
// patch-group and anchor-point terms are attached to the same feature pair), by key.
class SEGDISTILL_API SharedModules {
 public:
  // The module stored under `key`, made by `make` the first time it is asked for.
  template <class M, class Make>
  std::shared_ptr<M> get_or_create(const std::string& key, Make make) {
    auto it = modules_.find(key);
    if (it == modules_.end()) it = modules_.emplace(key, std::shared_ptr<torch::nn::Module>(make())).first;
    return std::dynamic_pointer_cast<M>(it->second);
  }

 private:
  std::map<std::string, std::shared_ptr<torch::nn::Module>> modules_;
};

// What a distiller is built for: the features it was attached to.
struct DistillerContext {
  std::string config_key;  // "distillers.0", for messages
  // Name (the key of the network's feature, e.g. "head.decoder"), channels and stride of
  // each feature, in the config's order: one of each for a PairDistiller.
  std::vector<FeatureSpec> student_features;
  std::vector<FeatureSpec> teacher_features;
  std::int64_t num_classes = 0;
  SharedModules* shared = nullptr;
  // The label of unlabelled pixels in the batch's labels (data.ignore_index).
  std::int64_t ignore_index = 255;
  // train.seed: where a distiller's own random draws (memory sampling) start, so that a
  // run is reproducible and resumes exactly.
  std::uint64_t seed = 0;

  // The pair of a PairDistiller.
  const FeatureSpec& student() const { return student_features.front(); }
  const FeatureSpec& teacher() const { return teacher_features.front(); }
};

using FeatureList = std::vector<at::Tensor>;
using DistillLosses = std::map<std::string, at::Tensor>;

// Its parameters join the optimizer (LR x train.distiller_lr_mult), except those it steps
// itself, and its parameters and buffers are saved in checkpoints; `export-checkpoint`
// writes the student alone.
class SEGDISTILL_API Distiller : public torch::nn::Module {
 public:
  static constexpr bool kTakesLevels = false;
  static constexpr bool kTakesLabels = false;

  // Named, unweighted scalar losses (the trainer applies the config's weight) from the
  // features the distiller declared, in its context's order, and the batch's labels
  // (B, H, W) int64 at the input size (context.ignore_index where unlabelled). The engine
  // calls this; a distiller implements forward() of its base.
  virtual DistillLosses distill(const FeatureList& student, const FeatureList& teacher, const at::Tensor& labels) = 0;
  // Without labels: for distillers that take none.
  DistillLosses distill(const FeatureList& student, const FeatureList& teacher) { return distill(student, teacher, {}); }

  // Called on every rank once per training iteration, after the run's optimizer stepped
  // the student: a distiller that trains a model of its own against the student (SKD's
  // discriminator) steps it here, from what its last distill() kept. Returns values to log
  // (its own loss, the same on every rank), recorded as "<name>.<key>" beside the losses.
  virtual std::map<std::string, double> after_student_step() { return {}; }
  // The parameters it steps itself in after_student_step(): the run's optimizer and its
  // gradient averaging leave them out. Their optimizer state belongs in buffers, so that
  // checkpoints keep it.
  virtual std::vector<at::Tensor> self_stepped_parameters() { return {}; }
};

// Distils one student feature to one teacher feature (KD, FitNet, TaT).
class SEGDISTILL_API PairDistiller : public Distiller {
 public:
  using Distiller::distill;
  virtual DistillLosses forward(const at::Tensor& student, const at::Tensor& teacher) = 0;
  DistillLosses distill(const FeatureList& student, const FeatureList& teacher, const at::Tensor&) final {
    return forward(student.front(), teacher.front());
  }
};

// Distils several feature pairs at once (ReviewKD's stages): the config gives the lists
// student_features / teacher_features, of one length.
class SEGDISTILL_API LevelDistiller : public Distiller {
 public:
  static constexpr bool kTakesLevels = true;
  using Distiller::distill;
  virtual DistillLosses forward(const FeatureList& student, const FeatureList& teacher) = 0;
  DistillLosses distill(const FeatureList& student, const FeatureList& teacher, const at::Tensor&) final {
    return forward(student, teacher);
  }
};

// Distils one feature pair with the batch's labels (IFVD's class prototypes, CIRKD's
// class memories).
class SEGDISTILL_API LabelledPairDistiller : public Distiller {
 public:
  static constexpr bool kTakesLabels = true;
  using Distiller::distill;
  // labels: (B, H, W) int64 at the input size.
  virtual DistillLosses forward(const at::Tensor& student, const at::Tensor& teacher, const at::Tensor& labels) = 0;
  // Throws Error when `labels` is undefined.
  DistillLosses distill(const FeatureList& student, const FeatureList& teacher, const at::Tensor& labels) final;
};

}  // namespace segdistill

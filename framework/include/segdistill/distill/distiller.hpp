#pragma once
// The distiller contract: a module that turns the student's and the teacher's features
// into losses. A distiller derives from PairDistiller (one feature of each network) or
// LevelDistiller (one per level, several pairs) and is registered with
// PluginRegistrar::add_distiller: what it takes is known before anything is built, and
// the engine hands it exactly those features, in the config's order.
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

  // The pair of a PairDistiller.
  const FeatureSpec& student() const { return student_features.front(); }
  const FeatureSpec& teacher() const { return teacher_features.front(); }
};

using FeatureList = std::vector<at::Tensor>;
using DistillLosses = std::map<std::string, at::Tensor>;

// Its parameters join the optimizer (LR x train.distiller_lr_mult) and its state is
// saved in checkpoints; `export-checkpoint` writes the student alone.
class SEGDISTILL_API Distiller : public torch::nn::Module {
 public:
  // Named, unweighted scalar losses (the trainer applies the config's weight) from the
  // features the distiller declared, in its context's order. The engine calls this; a
  // distiller implements forward() of PairDistiller or LevelDistiller.
  virtual DistillLosses distill(const FeatureList& student, const FeatureList& teacher) = 0;
};

// Distils one student feature to one teacher feature (KD, FitNet, TaT).
class SEGDISTILL_API PairDistiller : public Distiller {
 public:
  static constexpr bool kTakesLevels = false;
  virtual DistillLosses forward(const at::Tensor& student, const at::Tensor& teacher) = 0;
  DistillLosses distill(const FeatureList& student, const FeatureList& teacher) final {
    return forward(student.front(), teacher.front());
  }
};

// Distils several feature pairs at once (ReviewKD's stages): the config gives the lists
// student_features / teacher_features, of one length.
class SEGDISTILL_API LevelDistiller : public Distiller {
 public:
  static constexpr bool kTakesLevels = true;
  virtual DistillLosses forward(const FeatureList& student, const FeatureList& teacher) = 0;
  DistillLosses distill(const FeatureList& student, const FeatureList& teacher) final { return forward(student, teacher); }
};

}  // namespace segdistill

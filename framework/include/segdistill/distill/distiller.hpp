#pragma once
// The distiller contract: a module that turns student and teacher features into losses.
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
  FeatureSpec student;     // name (e.g. "head.decoder"), channels, stride; the first pair of a list
  FeatureSpec teacher;
  std::int64_t num_classes = 0;
  SharedModules* shared = nullptr;
  // Every pair, in the config's order: one for student_feature/teacher_feature, the
  // lists' entries for student_features/teacher_features (multi-level distillers).
  std::vector<FeatureSpec> student_levels;
  std::vector<FeatureSpec> teacher_levels;
};

// Registered in distillers(). Its parameters join the optimizer (LR x
// train.distiller_lr_mult) and its state is saved in checkpoints; `export-checkpoint`
// writes the student alone.
class SEGDISTILL_API Distiller : public torch::nn::Module {
 public:
  // Named scalar losses (unweighted; the trainer applies the config's weight) from the
  // features of the student and the teacher, keyed as in the FeatureMap of a Segmentor.
  virtual std::map<std::string, at::Tensor> forward(const FeatureMap& student, const FeatureMap& teacher) = 0;
  // Whether it distils several feature pairs (student_features/teacher_features lists);
  // the others are refused such lists instead of silently using one pair.
  virtual bool takes_feature_lists() const { return false; }
};

}  // namespace segdistill

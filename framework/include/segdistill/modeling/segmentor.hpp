#pragma once
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "segdistill/config/table.hpp"
#include "segdistill/core/api.hpp"
#include "segdistill/modeling/backbone.hpp"
#include "segdistill/modeling/feature.hpp"
#include "segdistill/modeling/head.hpp"

namespace segdistill {

struct SegmentorOutput {
  at::Tensor logits;    // N x classes x H x W, at the input's size
  FeatureMap features;  // "backbone.*", "head.*", "logits"
};

// A segmentation network: a backbone and a head, built from a [model]-like table
// (num_classes, backbone = {type...}, head = {type...}). Its state dict uses the
// reference names: <backbone_key>.* for the backbone ("backbone", the CIRKD toolbox's
// "pretrained", or none: its parts at the top level), the head's own parts (aspp.*,
// decoder.*; the toolbox's head.*, auxlayer.*) at the top level. Feature names are
// "backbone.*" whatever the key.
class SEGDISTILL_API Segmentor : public torch::nn::Module {
 public:
  // `model` is a [model] table (num_classes, backbone, head); plugins must be loaded.
  explicit Segmentor(const ConfigTable& model);
  // A network from its backbone and head tables.
  Segmentor(const ConfigTable& backbone, const ConfigTable& head, std::int64_t num_classes,
            const std::string& backbone_key = "backbone");

  SegmentorOutput forward(const at::Tensor& images);
  // Switches modes; with frozen_bn every BatchNorm stays in eval mode.
  void train(bool on = true) override;

  std::int64_t num_classes() const { return num_classes_; }
  // Every feature forward() returns, with channels and stride ("logits" has stride 1).
  const std::vector<FeatureSpec>& feature_specs() const { return feature_specs_; }
  // The spec of one feature; Error naming `config_key` and the available names if the
  // network has no such feature.
  const FeatureSpec& feature_spec(const std::string& name, const std::string& config_key) const;

  Backbone& backbone() { return *backbone_; }
  Head& head() { return *head_; }

 private:
  std::int64_t num_classes_ = 0;
  bool frozen_bn_ = false;     // [model] frozen_bn
  bool backbone_held_ = true;  // registered as one module (backbone_key not empty)
  std::shared_ptr<Backbone> backbone_;
  std::shared_ptr<Head> head_;
  std::vector<FeatureSpec> feature_specs_;
};

class Config;

// The network a config describes: "model" ([model]) or "teacher" ([teacher]; its
// num_classes defaults to the model's). Error naming the config when the table is absent.
SEGDISTILL_API std::shared_ptr<Segmentor> build_network(const Config& config, const std::string& section);

}  // namespace segdistill

#pragma once
// Training runs in the engine's tests: the config of a toy run, reading what a run wrote
// (metrics.jsonl records, checkpoint groups) and comparing weights bit for bit.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "segdistill/checkpoint/checkpoint.hpp"

namespace segdistill_test {

// The small DeepLabV3+ ResNet-18 the toy runs train.
inline const std::string kToyStudent =
    "backbone = {type = \"resnet18\", width = 0.125}\n"
    "head = {type = \"deeplabv3plus\", aspp_channels = 16, low_level_channels = 8, decoder_channels = 16}\n";

// Flips, scaled 32 x 32 crops of the 48 x 48 toy images, normalisation.
inline std::string toy_train_pipeline(const std::string& scale_range = "[0.75, 1.25]") {
  return "[{type = \"random_flip\"}, {type = \"random_scale_crop\", base_size = 48, crop_size = [32], scale_range = " +
         scale_range + "}, {type = \"normalize\"}]";
}

// A run on the toy data set written at `data_root` (train and val splits, 6 classes):
// `model` lines go in [model] and `train` lines in [train].
inline std::string toy_run_config(const std::string& data_root, const std::string& pipeline, const std::string& model,
                                  const std::string& train) {
  return "_base_ = \"" + std::string(SEGDISTILL_SOURCE_DIR) + "/configs/_base_/toy_data.toml\"\n[data.train]\nroot = \"" +
         data_root + "\"\npipeline = " + pipeline + "\n[data.val]\nroot = \"" + data_root + "\"\n[model]\nnum_classes = 6\n" +
         model + "[train]\n" + train;
}

// The records of WORK_DIR/metrics.jsonl, in order; only those of `type` when given.
inline std::vector<nlohmann::json> metrics_records(const std::string& work_dir, const std::string& type = "") {
  std::ifstream in(work_dir + "/metrics.jsonl");
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) {
    auto record = nlohmann::json::parse(line);
    if (type.empty() || record["type"] == type) out.push_back(std::move(record));
  }
  return out;
}

// One group ("model", "hooks", ...) of a checkpoint file.
inline segdistill::TensorDict checkpoint_group(const std::string& checkpoint, const std::string& group = "model") {
  return segdistill::load_checkpoint(checkpoint).groups.at(group);
}

// The same names, and every tensor equal bit for bit.
inline void expect_identical(const segdistill::TensorDict& a, const segdistill::TensorDict& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) ASSERT_TRUE(torch::equal(tensor, b.at(name))) << name;
}

}  // namespace segdistill_test

#pragma once
// Reading what a training run wrote, for the engine's tests: metrics.jsonl records and
// checkpoint groups, and comparing weights bit for bit.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "segdistill/checkpoint/checkpoint.hpp"

namespace segdistill_test {

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

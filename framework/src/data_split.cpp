#include <filesystem>

#include "segdistill/data_sections.hpp"
#include "segdistill/error.hpp"
#include "segdistill/registries.hpp"

namespace fs = std::filesystem;

namespace segdistill {

std::vector<std::string> configured_splits(const Config& config) {
  std::vector<std::string> out;
  if (!config.root().contains("data")) return out;
  const ConfigTable data = config.root().table("data");
  for (const char* split : {"train", "val", "test"})
    if (data.contains(split)) out.emplace_back(split);
  return out;
}

DataSplit build_split(const Config& config, const std::string& name) {
  const std::string key = "data." + name;
  if (!config.root().contains("data"))
    throw Error((config.path().empty() ? "config" : config.path()) + ": no [data] section (needed for " + key + ")");
  const DataSection data = parse_options<DataSection>(config.root().table("data"));
  const ConfigTable* table = name == "train" ? &data.train : name == "val" ? &data.val : name == "test" ? &data.test : nullptr;
  if (!table) throw Error("unknown split '" + name + "'; valid splits: train, val, test");
  if (table->empty()) {
    const auto splits = configured_splits(config);
    std::string have;
    for (const auto& s : splits) have += (have.empty() ? "" : ", ") + s;
    throw Error((config.path().empty() ? "config" : config.path()) + ": no [" + key + "] split is configured" +
                (have.empty() ? "" : " (configured: " + have + ")"));
  }
  DatasetContext context;
  context.config_key = key;
  // Like mmsegmentation: data paths in a config are relative to the working directory.
  context.base_dir = fs::current_path().string();
  context.num_classes = data.num_classes;
  context.ignore_index = data.ignore_index;

  DataSplit split;
  split.key = key;
  split.dataset = datasets().create(*table, context);
  std::vector<std::string> dataset_keys;
  for (const auto& k : table->keys())
    if (k != "pipeline" && k != "on_bad_sample") dataset_keys.push_back(k);
  const SplitKeys keys = parse_options<SplitKeys>(*table, dataset_keys);
  const TransformContext transform_context{data.ignore_index};
  for (const auto& step : keys.pipeline) split.pipeline.push_back(transforms().create(step, transform_context));
  split.skip_bad_samples = keys.on_bad_sample == "skip";
  return split;
}

}  // namespace segdistill

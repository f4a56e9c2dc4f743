#include <filesystem>

#include "segdistill/core/error.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/data/sections.hpp"
#include "segdistill/plugin/registries.hpp"

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

SplitKeys read_split_keys(const ConfigTable& split_table) {
  std::vector<std::string> dataset_keys;
  for (const auto& k : split_table.keys())
    if (k != "pipeline" && k != "on_bad_sample") dataset_keys.push_back(k);
  return parse_options<SplitKeys>(split_table, dataset_keys);
}

namespace {
std::vector<std::shared_ptr<Transform>> build_pipeline(const SplitKeys& keys, std::int64_t ignore_index) {
  std::vector<std::shared_ptr<Transform>> pipeline;
  const TransformContext context{ignore_index};
  for (const auto& step : keys.pipeline) pipeline.push_back(transforms().create(step, context));
  return pipeline;
}
}  // namespace

PredictionStyle prediction_style(const Config& config, std::int64_t num_classes) {
  PredictionStyle style;
  const bool has_val = config.root().contains("data") && config.root().table("data").contains("val");
  if (has_val) {
    const DataSection data = parse_options<DataSection>(config.root().table("data"));
    set_max_image_pixels(data.max_image_pixels);
    style.pipeline = build_pipeline(read_split_keys(data.val), data.ignore_index);
    try {
      style.info = build_split(config, "val").dataset->info();
    } catch (const Error&) {
      style.info = {};
    }
  } else {
    const Config normalize = Config::parse("t = {type = \"normalize\"}", "published preprocessing");
    style.pipeline.push_back(transforms().create(normalize.root().table("t"), TransformContext{255}));
  }
  if (style.info.class_names.empty()) {
    for (std::int64_t c = 0; c < num_classes; ++c) style.info.class_names.push_back("class " + std::to_string(c));
    style.info.palette = voc_palette();
  }
  return style;
}

DataSplit build_split(const Config& config, const std::string& name) {
  const std::string key = "data." + name;
  if (!config.root().contains("data"))
    throw Error((config.path().empty() ? "config" : config.path()) + ": no [data] section (needed for " + key + ")");
  const DataSection data = parse_options<DataSection>(config.root().table("data"));
  set_max_image_pixels(data.max_image_pixels);
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
  const SplitKeys keys = read_split_keys(*table);
  split.pipeline = build_pipeline(keys, data.ignore_index);
  split.skip_bad_samples = keys.on_bad_sample == "skip";
  return split;
}

void check_classes_fit(const Config& config, std::int64_t num_classes, const std::string& key) {
  for (const auto& name : configured_splits(config)) {
    std::int64_t classes = 0;
    std::string names;
    try {
      const DataSplit split = build_split(config, name);
      const DatasetInfo info = split.dataset->info();
      classes = info.num_classes();
      for (std::size_t i = 0; i < info.class_names.size() && i < 8; ++i) names += (i ? ", " : "") + info.class_names[i];
      if (info.class_names.size() > 8) names += ", ...";
    } catch (const Error& e) {
      // Not readable from here (data elsewhere, or a bad list): said, not fatal, since
      // `config check` may run away from the data; the run itself fails on it.
      logger()->warn("data.{} not checked against {}: {}", name, key, e.what());
      continue;
    }
    if (classes > num_classes)
      throw Error(key + " = " + std::to_string(num_classes) + ", but data." + name + " has " + std::to_string(classes) +
                  " classes (" + names + "): labels up to " + std::to_string(classes - 1) +
                  " would index past the network's outputs; set " + key + " = " + std::to_string(classes));
  }
}

}  // namespace segdistill

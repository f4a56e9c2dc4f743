#pragma once
// The [data] section: classes, ignore index, and one table per split.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "segdistill/config/config.hpp"
#include "segdistill/config/schema.hpp"
#include "segdistill/core/api.hpp"
#include "segdistill/data/dataset.hpp"
#include "segdistill/data/image_io.hpp"
#include "segdistill/data/transform.hpp"

namespace segdistill {

struct DataSection {
  std::int64_t num_classes;
  std::int64_t ignore_index;
  std::int64_t max_image_pixels;
  ConfigTable train;
  ConfigTable val;
  ConfigTable test;
  static void declare(Schema<DataSection>& s) {
    s.field("num_classes", &DataSection::num_classes, "classes of the labels (0: as the data set says)")
        .default_value(0)
        .range(0, 255);
    s.field("ignore_index", &DataSection::ignore_index, "label value of void pixels, left out of loss and metrics")
        .default_value(255)
        .range(0, 255);
    s.field("max_image_pixels", &DataSection::max_image_pixels,
            "images, labels and .mat matrices declaring more pixels are refused before decoding (bad sample)")
        .default_value(kDefaultMaxImagePixels)
        .range(1, std::int64_t{1} << 34);
    s.field("train", &DataSection::train, "training split: {type = DATASET, ..., pipeline = [...]}").component("datasets");
    s.field("val", &DataSection::val, "validation split").component("datasets");
    s.field("test", &DataSection::test, "test split").component("datasets");
  }
};

// Keys of a split table that the framework reads (the data set reads the others).
struct SplitKeys {
  std::vector<ConfigTable> pipeline;
  std::string on_bad_sample;
  static void declare(Schema<SplitKeys>& s) {
    s.field("pipeline", &SplitKeys::pipeline, "transforms applied in order: [{type = NAME, ...}, ...]").component("transforms");
    s.field("on_bad_sample", &SplitKeys::on_bad_sample,
            "'error' stops at a bad sample, naming it; 'skip' logs it, counts it and goes on")
        .default_value(std::string("error"))
        .one_of({"error", "skip"});
  }
};

// Reads the framework's keys of a split table (the data set reads the others).
SEGDISTILL_API SplitKeys read_split_keys(const ConfigTable& split_table);

// A split ready to load: its data set, pipeline and bad-sample policy.
struct DataSplit {
  std::string key;  // "data.train"
  std::shared_ptr<Dataset> dataset;
  std::vector<std::shared_ptr<Transform>> pipeline;
  bool skip_bad_samples = false;
};

// Builds split `name` ("train", "val", "test") of a config's [data]; plugins must be
// loaded. Error naming the key when the split is not configured.
SEGDISTILL_API DataSplit build_split(const Config& config, const std::string& name);

// How to prepare arbitrary images and colour their predictions: the validation
// pipeline of [data.val] (the published normalisation when there is none) and the
// validation data set's class names and palette (generic names and VOC's palette when
// it cannot be built, for example because the data set is not on this machine).
struct PredictionStyle {
  std::vector<std::shared_ptr<Transform>> pipeline;
  DatasetInfo info;
};
SEGDISTILL_API PredictionStyle prediction_style(const Config& config, std::int64_t num_classes);

// The split names a config's [data] defines.
SEGDISTILL_API std::vector<std::string> configured_splits(const Config& config);

// Error when `num_classes` (the network's outputs, from `key`) is smaller than the
// classes of a configured split whose data set can be opened: its labels would index
// past the logits mid-run. Splits that cannot be opened here are left to their own
// errors.
SEGDISTILL_API void check_classes_fit(const Config& config, std::int64_t num_classes, const std::string& key);

}  // namespace segdistill

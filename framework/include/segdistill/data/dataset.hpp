#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "segdistill/core/api.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/data/sample.hpp"

namespace segdistill {

// A sample that cannot be used: missing or unreadable file, bad label value, size
// mismatch. With on_bad_sample = "skip" the loader logs and counts these.
class SEGDISTILL_API SampleError : public Error {
 public:
  using Error::Error;
};

// What a data set is built with.
struct DatasetContext {
  std::string config_key;        // "data.train", for messages
  std::string base_dir;          // relative paths in the config are relative to this
  std::int64_t num_classes = 0;  // from [data]; 0 when the data set decides
  std::int64_t ignore_index = 255;
};

// Class names and colours of a data set (colours for palette PNGs and overlays).
struct DatasetInfo {
  std::vector<std::string> class_names;
  std::vector<cv::Vec3b> palette;  // RGB per class index
  std::int64_t ignore_index = 255;
  std::int64_t num_classes() const { return static_cast<std::int64_t>(class_names.size()); }
};

// An indexed collection of labelled images. Registered in datasets(). Loading must be
// safe to call from several threads at once.
class SEGDISTILL_API Dataset {
 public:
  virtual ~Dataset() = default;
  virtual std::size_t size() const = 0;
  virtual const std::string& id(std::size_t index) const = 0;
  // Reads sample `index` (RGB uint8 image, uint8 label); SampleError on bad data.
  virtual Sample load(std::size_t index) const = 0;
  // The label alone (no image decoding), for scoring saved predictions. Values are
  // checked like load() does; sizes are checked against the prediction by the caller.
  virtual cv::Mat load_label(std::size_t index) const { return load(index).label; }
  virtual const DatasetInfo& info() const = 0;
};

// The 256-entry colour map of Pascal VOC palette PNGs (index -> RGB).
SEGDISTILL_API std::vector<cv::Vec3b> voc_palette(std::size_t size = 256);

}  // namespace segdistill

#pragma once
// The embedded toy data set: procedurally drawn scenes in Pascal VOC's layout.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace segdistill::toy {

struct ToyOptions {
  std::string output;  // the VOC2012-like root to write
  std::uint64_t seed = 0;
  int train = 240;  // images in train.txt
  int val = 60;     // images in val.txt
  int width = 128;  // image size in pixels
  int height = 128;
  std::string variant = "shapes";  // one of toy_variants()
};

// The kinds of scene: "shapes" (6 classes, large shapes told apart mostly by colour) and
// "textured-shapes" (11 classes: a shape AND a texture, small overlapping objects among
// textured clutter; the demo's task, where a narrow student falls well behind its teacher).
const std::vector<std::string>& toy_variants();

// A variant's class names, index = label value; an Error names the valid variants.
const std::vector<std::string>& toy_class_names(const std::string& variant = "shapes");

// Writes JPEGImages/, SegmentationClass/ (palette PNGs with 255 borders around objects),
// ImageSets/Segmentation/{train,val,trainval}.txt and classes.txt. The same options give
// the same files. `progress(done, total)` is called after each image.
void write_toy_dataset(const ToyOptions& options, const std::function<void(int, int)>& progress = {});

}  // namespace segdistill::toy

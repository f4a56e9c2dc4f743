#include "toy_dataset.hpp"

#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "scenes.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/data/dataset.hpp"
#include "segdistill/data/image_io.hpp"

namespace fs = std::filesystem;

namespace segdistill::toy {

namespace {

void write_list(const fs::path& path, const std::vector<std::string>& ids) {
  std::ofstream out(path);
  for (const auto& id : ids) out << id << "\n";
  if (!out) throw Error(path.string() + ": cannot write the split list");
}

}  // namespace

const std::vector<std::string>& toy_variants() {
  static const std::vector<std::string> names{"shapes", "textured-shapes"};
  return names;
}

const std::vector<std::string>& toy_class_names(const std::string& variant) {
  if (variant == "shapes") return shapes_class_names();
  if (variant == "textured-shapes") return textured_shapes_class_names();
  throw Error("make-toy-dataset: unknown --variant '" + variant + "' (valid: shapes, textured-shapes)");
}

void write_toy_dataset(const ToyOptions& options, const std::function<void(int, int)>& progress) {
  if (options.train < 1 || options.val < 1) throw Error("make-toy-dataset: --train and --val must be at least 1");
  if (std::min(options.width, options.height) < 32 || std::max(options.width, options.height) > 4096)
    throw Error("make-toy-dataset: --size must be between 32 and 4096 pixels per side");
  const auto& class_names = toy_class_names(options.variant);
  const auto draw_scene = options.variant == "shapes" ? draw_shapes_scene : draw_textured_shapes_scene;
  const fs::path root(options.output);
  for (const char* dir : {"JPEGImages", "SegmentationClass", "ImageSets/Segmentation"}) {
    std::error_code ec;
    fs::create_directories(root / dir, ec);
    if (ec) throw Error((root / dir).string() + ": cannot create the folder: " + ec.message());
  }
  const cv::Size size(options.width, options.height);
  const auto palette = voc_palette();
  std::vector<std::string> train, val;
  const int total = options.train + options.val;
  for (int i = 0; i < total; ++i) {
    char id[32];
    std::snprintf(id, sizeof(id), "toy_%06d", i);
    // Each image from its own seed: the same image whatever the counts asked for.
    Draw draw(options.seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(i) + 1);
    cv::theRNG().state = draw.bits() | 1;
    cv::Mat image, label;
    draw_scene(size, draw, image, label);
    write_rgb_image((root / "JPEGImages" / (std::string(id) + ".jpg")).string(), image);
    write_label_png((root / "SegmentationClass" / (std::string(id) + ".png")).string(), label, palette);
    (i < options.train ? train : val).push_back(id);
    if (progress) progress(i + 1, total);
  }
  write_list(root / "ImageSets/Segmentation/train.txt", train);
  write_list(root / "ImageSets/Segmentation/val.txt", val);
  std::vector<std::string> all = train;
  all.insert(all.end(), val.begin(), val.end());
  write_list(root / "ImageSets/Segmentation/trainval.txt", all);
  write_list(root / "classes.txt", class_names);
}

}  // namespace segdistill::toy

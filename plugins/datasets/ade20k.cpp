#include "ade20k.hpp"

#include <filesystem>

#include "segdistill/data/image_io.hpp"
#include "split_list.hpp"

namespace fs = std::filesystem;

namespace segdistill::datasets_plugin {

namespace {

// The 150 classes in SceneParsing's order (annotation value - 1).
const std::vector<std::string>& ade20k_class_names() {
  static const std::vector<std::string> names{"wall",
                                              "building",
                                              "sky",
                                              "floor",
                                              "tree",
                                              "ceiling",
                                              "road",
                                              "bed",
                                              "windowpane",
                                              "grass",
                                              "cabinet",
                                              "sidewalk",
                                              "person",
                                              "earth",
                                              "door",
                                              "table",
                                              "mountain",
                                              "plant",
                                              "curtain",
                                              "chair",
                                              "car",
                                              "water",
                                              "painting",
                                              "sofa",
                                              "shelf",
                                              "house",
                                              "sea",
                                              "mirror",
                                              "rug",
                                              "field",
                                              "armchair",
                                              "seat",
                                              "fence",
                                              "desk",
                                              "rock",
                                              "wardrobe",
                                              "lamp",
                                              "bathtub",
                                              "railing",
                                              "cushion",
                                              "base",
                                              "box",
                                              "column",
                                              "signboard",
                                              "chest of drawers",
                                              "counter",
                                              "sand",
                                              "sink",
                                              "skyscraper",
                                              "fireplace",
                                              "refrigerator",
                                              "grandstand",
                                              "path",
                                              "stairs",
                                              "runway",
                                              "case",
                                              "pool table",
                                              "pillow",
                                              "screen door",
                                              "stairway",
                                              "river",
                                              "bridge",
                                              "bookcase",
                                              "blind",
                                              "coffee table",
                                              "toilet",
                                              "flower",
                                              "book",
                                              "hill",
                                              "bench",
                                              "countertop",
                                              "stove",
                                              "palm",
                                              "kitchen island",
                                              "computer",
                                              "swivel chair",
                                              "boat",
                                              "bar",
                                              "arcade machine",
                                              "hovel",
                                              "bus",
                                              "towel",
                                              "light",
                                              "truck",
                                              "tower",
                                              "chandelier",
                                              "awning",
                                              "streetlight",
                                              "booth",
                                              "television receiver",
                                              "airplane",
                                              "dirt track",
                                              "apparel",
                                              "pole",
                                              "land",
                                              "bannister",
                                              "escalator",
                                              "ottoman",
                                              "bottle",
                                              "buffet",
                                              "poster",
                                              "stage",
                                              "van",
                                              "ship",
                                              "fountain",
                                              "conveyer belt",
                                              "canopy",
                                              "washer",
                                              "plaything",
                                              "swimming pool",
                                              "stool",
                                              "barrel",
                                              "basket",
                                              "waterfall",
                                              "tent",
                                              "bag",
                                              "minibike",
                                              "cradle",
                                              "oven",
                                              "ball",
                                              "food",
                                              "step",
                                              "tank",
                                              "trade name",
                                              "microwave",
                                              "pot",
                                              "animal",
                                              "bicycle",
                                              "lake",
                                              "dishwasher",
                                              "screen",
                                              "blanket",
                                              "sculpture",
                                              "hood",
                                              "sconce",
                                              "vase",
                                              "traffic light",
                                              "tray",
                                              "ashcan",
                                              "fan",
                                              "pier",
                                              "crt screen",
                                              "plate",
                                              "monitor",
                                              "bulletin board",
                                              "shower",
                                              "radiator",
                                              "glass",
                                              "clock",
                                              "flag"};
  return names;
}

}  // namespace

Ade20kDataset::Ade20kDataset(const Ade20kOptions& options, const DatasetContext& context) {
  const std::string key = context.config_key;
  const std::string root = resolve_path(context.base_dir, options.root);
  require_directory(root, key + ".root", "ADEChallengeData2016 with images/ and annotations/");
  images_ = (fs::path(root) / "images" / options.split).string();
  annotations_ = (fs::path(root) / "annotations" / options.split).string();
  require_directory(images_, key + ".root", "images/" + options.split + "/ in the ADE20K root");
  require_directory(annotations_, key + ".root", "annotations/" + options.split + "/ in the ADE20K root");
  // Name order, not the toolbox's os.listdir order (which depends on the file system), so
  // that runs repeat on any machine.
  for (const auto& file : files_ending_with(images_, ".jpg")) ids_.push_back(fs::path(file).stem().string());
  if (ids_.empty()) throw Error(key + ".root: no .jpg image in " + images_);

  classes_.set(0, static_cast<int>(context.ignore_index));
  for (int value = 1; value <= 150; ++value) classes_.set(value, value - 1);
  info_.class_names = ade20k_class_names();
  if (context.num_classes > 0 && context.num_classes != info_.num_classes())
    throw Error(key + ": data.num_classes is " + std::to_string(context.num_classes) + " but ADE20K has " +
                std::to_string(info_.num_classes()) + " classes");
  info_.palette = voc_palette();
  info_.ignore_index = context.ignore_index;
}

cv::Mat Ade20kDataset::load_label(std::size_t index) const {
  const std::string path = (fs::path(annotations_) / (ids_.at(index) + ".png")).string();
  return classes_.apply(read_label_png(path), path, "an ADE20K annotation value (0 other, 1..150 the classes)");
}

Sample Ade20kDataset::load(std::size_t index) const {
  const std::string& id = ids_.at(index);
  return read_sample(id, (fs::path(images_) / (id + ".jpg")).string(), (fs::path(annotations_) / (id + ".png")).string(),
                     [&] { return load_label(index); });
}

}  // namespace segdistill::datasets_plugin

#include "cityscapes.hpp"

#include <filesystem>
#include <set>

#include "segdistill/data/image_io.hpp"
#include "segdistill/data/split_list.hpp"
#include "split_list.hpp"

namespace fs = std::filesystem;

namespace segdistill::datasets_plugin {

namespace {

const std::string kImageSuffix = "_leftImg8bit.png";
const std::string kLabelSuffix = "_gtFine_labelIds.png";

// The 19 training classes: label id, name and colour (cityscapesScripts' labels table).
struct CityscapesClass {
  int label_id;
  const char* name;
  cv::Vec3b colour;
};
const std::vector<CityscapesClass>& training_classes() {
  static const std::vector<CityscapesClass> classes{{7, "road", {128, 64, 128}},
                                                    {8, "sidewalk", {244, 35, 232}},
                                                    {11, "building", {70, 70, 70}},
                                                    {12, "wall", {102, 102, 156}},
                                                    {13, "fence", {190, 153, 153}},
                                                    {17, "pole", {153, 153, 153}},
                                                    {19, "traffic light", {250, 170, 30}},
                                                    {20, "traffic sign", {220, 220, 0}},
                                                    {21, "vegetation", {107, 142, 35}},
                                                    {22, "terrain", {152, 251, 152}},
                                                    {23, "sky", {70, 130, 180}},
                                                    {24, "person", {220, 20, 60}},
                                                    {25, "rider", {255, 0, 0}},
                                                    {26, "car", {0, 0, 142}},
                                                    {27, "truck", {0, 0, 70}},
                                                    {28, "bus", {0, 60, 100}},
                                                    {31, "train", {0, 80, 100}},
                                                    {32, "motorcycle", {0, 0, 230}},
                                                    {33, "bicycle", {119, 11, 32}}};
  return classes;
}

// The largest label id of the annotations (bicycle); every id up to it is a class or void.
constexpr int kLargestLabelId = 33;

// Sorted names of the sub-folders of `dir` (real folders, not links to elsewhere).
std::vector<std::string> cities_in(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir))
    if (!entry.is_symlink() && entry.is_directory()) names.insert(entry.path().filename().string());
  return {names.begin(), names.end()};
}

}  // namespace

CityscapesDataset::CityscapesDataset(const CityscapesOptions& options, const DatasetContext& context) {
  const std::string key = context.config_key;
  root_ = resolve_path(context.base_dir, options.root);
  require_directory(root_, key + ".root", "the Cityscapes folder with leftImg8bit/ and gtFine/");
  if (options.list) {
    const std::string list = resolve_path(context.base_dir, *options.list);
    for (const auto& image : read_split_list(list, key + ".list")) {
      if (image.rfind("leftImg8bit/", 0) != 0 || image.size() <= kImageSuffix.size() ||
          image.compare(image.size() - kImageSuffix.size(), kImageSuffix.size(), kImageSuffix) != 0)
        throw Error(key + ".list: " + list + ": '" + image + "' is not an image path 'leftImg8bit/.../<name>" + kImageSuffix +
                    "' relative to root");
      add_sample(image);
    }
  } else {
    const std::string split_dir = (fs::path(root_) / "leftImg8bit" / options.split).string();
    require_directory(split_dir, key + ".root", "leftImg8bit/" + options.split + "/ in the Cityscapes root");
    require_directory((fs::path(root_) / "gtFine" / options.split).string(), key + ".root",
                      "gtFine/" + options.split + "/ in the Cityscapes root");
    for (const auto& city : cities_in(split_dir)) {
      for (const auto& file : files_ending_with((fs::path(split_dir) / city).string(), kImageSuffix))
        add_sample("leftImg8bit/" + options.split + "/" + city + "/" + file);
    }
    if (ids_.empty()) throw Error(key + ".root: no <city>/<name>" + kImageSuffix + " image in " + split_dir);
  }

  for (int id = 0; id <= kLargestLabelId; ++id) train_id_.set(id, static_cast<int>(context.ignore_index));
  for (std::size_t c = 0; c < training_classes().size(); ++c) {
    train_id_.set(training_classes()[c].label_id, static_cast<int>(c));
    info_.class_names.push_back(training_classes()[c].name);
  }
  if (context.num_classes > 0 && context.num_classes != info_.num_classes())
    throw Error(key + ": data.num_classes is " + std::to_string(context.num_classes) + " but Cityscapes has " +
                std::to_string(info_.num_classes()) + " training classes");
  info_.palette = voc_palette();
  for (std::size_t c = 0; c < training_classes().size(); ++c) info_.palette[c] = training_classes()[c].colour;
  info_.ignore_index = context.ignore_index;
}

// leftImg8bit/<split>/<city>/<name>_leftImg8bit.png: the sample "<city>/<name>", its label
// gtFine/<split>/<city>/<name>_gtFine_labelIds.png (the pairing of the toolbox's lists too).
void CityscapesDataset::add_sample(const std::string& image_relative) {
  const fs::path image(image_relative);
  const std::string file = image.filename().string();
  const std::string name = file.substr(0, file.size() - kImageSuffix.size());
  ids_.push_back(image.parent_path().filename().string() + "/" + name);
  images_.push_back(image_relative);
  labels_.push_back("gtFine/" + (image.parent_path().lexically_relative("leftImg8bit") / (name + kLabelSuffix)).string());
}

std::string CityscapesDataset::image_path(std::size_t index) const { return (fs::path(root_) / images_.at(index)).string(); }

std::string CityscapesDataset::label_path(std::size_t index) const { return (fs::path(root_) / labels_.at(index)).string(); }

cv::Mat CityscapesDataset::load_label(std::size_t index) const {
  const std::string path = label_path(index);
  return train_id_.apply(read_label_png(path), path, "a Cityscapes label id (0.." + std::to_string(kLargestLabelId) + ")");
}

Sample CityscapesDataset::load(std::size_t index) const {
  return read_sample(ids_.at(index), image_path(index), label_path(index), [&] { return load_label(index); });
}

}  // namespace segdistill::datasets_plugin

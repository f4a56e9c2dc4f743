#include "camvid.hpp"

#include <filesystem>
#include <set>

#include "segdistill/data/image_io.hpp"
#include "segdistill/data/split_list.hpp"
#include "split_list.hpp"

namespace fs = std::filesystem;

namespace segdistill::datasets_plugin {

namespace {

// The 11 classes of the SegNet release, in its label order, with its colours.
struct CamVidClass {
  const char* name;
  cv::Vec3b colour;
};
const std::vector<CamVidClass>& camvid_classes() {
  static const std::vector<CamVidClass> classes{
      {"sky", {128, 128, 128}},    {"building", {128, 0, 0}},   {"pole", {192, 192, 128}},        {"road", {128, 64, 128}},
      {"pavement", {60, 40, 222}}, {"tree", {128, 128, 0}},     {"sign/symbol", {192, 128, 128}}, {"fence", {64, 64, 128}},
      {"car", {64, 0, 128}},       {"pedestrian", {64, 64, 0}}, {"bicyclist", {0, 128, 192}}};
  return classes;
}
constexpr int kVoid = 11;
const std::set<std::string> kSplitFolders{"train", "val", "test"};

}  // namespace

CamVidDataset::CamVidDataset(const CamVidOptions& options, const DatasetContext& context) {
  const std::string key = context.config_key;
  root_ = resolve_path(context.base_dir, options.root);
  require_directory(root_, key + ".root", "the CamVid folder with train/ and trainannot/");
  if (options.list) {
    const std::string list = resolve_path(context.base_dir, *options.list);
    for (const auto& image : read_split_list(list, key + ".list")) add_sample(image, key + ".list: " + list);
  } else {
    for (const std::string& split :
         options.split == "trainval" ? std::vector<std::string>{"train", "val"} : std::vector<std::string>{options.split}) {
      const fs::path folder = fs::path(root_) / split;
      require_directory(folder.string(), key + ".root", split + "/ in the CamVid root");
      require_directory((fs::path(root_) / (split + "annot")).string(), key + ".root", split + "annot/ in the CamVid root");
      const auto files = files_ending_with(folder.string(), ".png");
      if (files.empty()) throw Error(key + ".root: no .png image in " + folder.string());
      for (const auto& file : files) add_sample(split + "/" + file, key + ".root");
    }
  }
  for (std::size_t c = 0; c < camvid_classes().size(); ++c) {
    classes_.set(static_cast<int>(c), static_cast<int>(c));
    info_.class_names.push_back(camvid_classes()[c].name);
  }
  classes_.set(kVoid, static_cast<int>(context.ignore_index));
  if (context.num_classes > 0 && context.num_classes != info_.num_classes())
    throw Error(key + ": data.num_classes is " + std::to_string(context.num_classes) + " but CamVid has " +
                std::to_string(info_.num_classes()) + " classes");
  info_.palette = voc_palette();
  for (std::size_t c = 0; c < camvid_classes().size(); ++c) info_.palette[c] = camvid_classes()[c].colour;
  info_.ignore_index = context.ignore_index;
}

// '<dir>/<split>/<name>.png' (dir may be empty): the sample '<split>/<name>', its label
// '<dir>/<split>annot/<name>.png', the pairing of the release and of the toolbox's lists.
void CamVidDataset::add_sample(const std::string& image_relative, const std::string& where) {
  const fs::path image(image_relative);
  const std::string split = image.parent_path().filename().string();
  if (!kSplitFolders.count(split) || image.extension() != ".png")
    throw Error(where + ": '" + image_relative + "' is not an image path '.../{train,val,test}/<name>.png' relative to root");
  ids_.push_back(split + "/" + image.stem().string());
  images_.push_back(image_relative);
  labels_.push_back((image.parent_path().parent_path() / (split + "annot") / image.filename()).string());
}

cv::Mat CamVidDataset::load_label(std::size_t index) const {
  const std::string path = (fs::path(root_) / labels_.at(index)).string();
  return classes_.apply(read_label_png(path), path, "a CamVid class (0..10) or void (11)");
}

Sample CamVidDataset::load(std::size_t index) const {
  return read_sample(ids_.at(index), (fs::path(root_) / images_.at(index)).string(),
                     (fs::path(root_) / labels_.at(index)).string(), [&] { return load_label(index); });
}

}  // namespace segdistill::datasets_plugin

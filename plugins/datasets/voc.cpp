#include "voc.hpp"

#include <filesystem>
#include <unordered_set>

#include "segdistill/data/image_io.hpp"
#include "split_list.hpp"

namespace fs = std::filesystem;

namespace segdistill::datasets_plugin {

namespace {
// A split name of ImageSets/Segmentation, or a list file path (relative to the config).
std::string list_path(const std::string& root, const std::string& split, const std::string& base_dir) {
  const bool is_path = split.find('/') != std::string::npos || fs::path(split).extension() == ".txt";
  return is_path ? resolve_path(base_dir, split) : (fs::path(root) / "ImageSets" / "Segmentation" / (split + ".txt")).string();
}
}  // namespace

VocDataset::VocDataset(const VocOptions& options, const DatasetContext& context) {
  const std::string key = context.config_key;
  const std::string root = resolve_path(context.base_dir, options.root);
  require_directory(root, key + ".root", "VOCdevkit/VOC2012 with JPEGImages/ and " + options.label_dir + "/");
  require_directory((fs::path(root) / "JPEGImages").string(), key + ".root", "a JPEGImages/ folder in the VOC root");
  require_directory((fs::path(root) / options.label_dir).string(), key + ".label_dir", "a label folder in the VOC root");

  info_.class_names = options.class_names.empty() ? voc_class_names() : options.class_names;
  if (context.num_classes > 0 && context.num_classes != info_.num_classes())
    throw Error(key + ": data.num_classes is " + std::to_string(context.num_classes) + " but the data set has " +
                std::to_string(info_.num_classes()) + " class names");
  info_.palette = voc_palette();
  info_.ignore_index = context.ignore_index;

  std::unordered_set<std::string> seen;
  for (const auto& id : read_split_list(list_path(root, options.split, context.base_dir), key + ".split")) {
    if (!seen.insert(id).second) continue;
    entries_.push_back({id, (fs::path(root) / "JPEGImages" / (id + ".jpg")).string(),
                        (fs::path(root) / options.label_dir / (id + ".png")).string(), false});
  }
  if (options.sbd_root) {
    // The published 'trainaug' set: VOC split, then SBD train, then SBD val; the first
    // source of an id wins; the ids of VOC's exclude_split are left out.
    const std::string sbd = resolve_path(context.base_dir, *options.sbd_root);
    require_directory(sbd, key + ".sbd_root", "SBD's benchmark_RELEASE/dataset with cls/ and img/");
    const auto excluded_ids = read_split_list(list_path(root, options.exclude_split, context.base_dir), key + ".exclude_split");
    const std::unordered_set<std::string> excluded(excluded_ids.begin(), excluded_ids.end());
    std::vector<Entry> kept;
    for (auto& e : entries_)
      if (!excluded.count(e.id)) kept.push_back(std::move(e));
    entries_ = std::move(kept);
    for (const char* sbd_split : {"train.txt", "val.txt"}) {
      for (const auto& id : read_split_list((fs::path(sbd) / sbd_split).string(), key + ".sbd_root")) {
        if (excluded.count(id) || !seen.insert(id).second) continue;
        entries_.push_back(
            {id, (fs::path(sbd) / "img" / (id + ".jpg")).string(), (fs::path(sbd) / "cls" / (id + ".mat")).string(), true});
      }
    }
  }
}

cv::Mat VocDataset::load_label(std::size_t index) const {
  const Entry& e = entries_.at(index);
  cv::Mat label;
  if (e.sbd_mat) {
    const cv::Mat wide = read_mat_matrix(e.label, "GTcls.Segmentation");
    double max_value = 0;
    cv::minMaxLoc(wide, nullptr, &max_value);
    if (max_value > 255)
      throw SampleError(e.label + ": label value " + std::to_string(static_cast<int>(max_value)) + " does not fit a class index");
    wide.convertTo(label, CV_8U);
  } else {
    label = read_label_png(e.label);
  }
  check_label_values(label, e.label, info_.num_classes(), info_.ignore_index);
  return label;
}

Sample VocDataset::load(std::size_t index) const {
  const Entry& e = entries_.at(index);
  return read_sample(e.id, e.image, e.label, [&] { return load_label(index); });
}

}  // namespace segdistill::datasets_plugin

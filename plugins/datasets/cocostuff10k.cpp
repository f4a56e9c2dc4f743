#include "cocostuff10k.hpp"

#include <algorithm>
#include <filesystem>

#include "cocostuff_classes.hpp"
#include "segdistill/data/image_io.hpp"
#include "split_list.hpp"

namespace fs = std::filesystem;

namespace segdistill::datasets_plugin {

CocoStuff10kDataset::CocoStuff10kDataset(const CocoStuff10kOptions& options, const DatasetContext& context) {
  const std::string key = context.config_key;
  const std::string root = resolve_path(context.base_dir, options.root);
  require_directory(root, key + ".root", "cocostuff-10k-v1.1 with images/, annotations/, imageLists/");
  images_ = (fs::path(root) / "images").string();
  annotations_ = (fs::path(root) / "annotations").string();
  require_directory(images_, key + ".root", "an images/ folder in the COCO-Stuff root");
  require_directory(annotations_, key + ".root", "an annotations/ folder in the COCO-Stuff root");
  const bool is_path = options.split.find('/') != std::string::npos || fs::path(options.split).extension() == ".txt";
  ids_ = read_split_list(is_path ? resolve_path(context.base_dir, options.split)
                                 : (fs::path(root) / "imageLists" / (options.split + ".txt")).string(),
                         key + ".split");

  const auto ignore = static_cast<std::uint8_t>(context.ignore_index);
  lookup_.fill(ignore);
  const auto& names = cocostuff_182_names();
  if (options.label_mapping == "deeplab182") {
    for (int s = 1; s <= 182; ++s) lookup_[static_cast<std::size_t>(s)] = static_cast<std::uint8_t>(s - 1);
    info_.class_names = names;
  } else {
    const auto& unused = cocostuff_unused_ids();
    int next = 0;
    for (int s = 1; s <= 182; ++s) {
      if (std::find(unused.begin(), unused.end(), s) != unused.end()) continue;
      lookup_[static_cast<std::size_t>(s)] = static_cast<std::uint8_t>(next++);
      info_.class_names.push_back(names[static_cast<std::size_t>(s - 1)]);
    }
  }
  if (context.num_classes > 0 && context.num_classes != info_.num_classes())
    throw Error(key + ": data.num_classes is " + std::to_string(context.num_classes) + " but label_mapping '" +
                options.label_mapping + "' gives " + std::to_string(info_.num_classes()) + " classes");
  info_.palette = voc_palette();
  info_.ignore_index = context.ignore_index;
}

cv::Mat CocoStuff10kDataset::load_label(std::size_t index) const {
  const std::string path = (fs::path(annotations_) / (ids_.at(index) + ".mat")).string();
  const cv::Mat stored = read_mat_matrix(path, "S");
  cv::Mat label(stored.size(), CV_8UC1);
  for (int y = 0; y < stored.rows; ++y) {
    const std::uint16_t* in = stored.ptr<std::uint16_t>(y);
    uchar* out = label.ptr<uchar>(y);
    for (int x = 0; x < stored.cols; ++x) {
      if (in[x] > 182) throw SampleError(path + ": S value " + std::to_string(in[x]) + " is not a COCO-Stuff label (0..182)");
      out[x] = lookup_[in[x]];
    }
  }
  return label;
}

Sample CocoStuff10kDataset::load(std::size_t index) const {
  const std::string& id = ids_.at(index);
  return read_sample(id, (fs::path(images_) / (id + ".jpg")).string(), (fs::path(annotations_) / (id + ".mat")).string(),
                     [&] { return load_label(index); });
}

}  // namespace segdistill::datasets_plugin

#include "cocostuff164k.hpp"

#include <algorithm>
#include <filesystem>

#include "cocostuff_classes.hpp"
#include "segdistill/data/image_io.hpp"
#include "segdistill/data/split_list.hpp"
#include "split_list.hpp"

namespace fs = std::filesystem;

namespace segdistill::datasets_plugin {

namespace {
constexpr int kUnlabeled = 255;
}

CocoStuff164kDataset::CocoStuff164kDataset(const CocoStuff164kOptions& options, const DatasetContext& context) {
  const std::string key = context.config_key;
  const std::string root = resolve_path(context.base_dir, options.root);
  require_directory(root, key + ".root", "the COCO-Stuff-164k folder with images/ and annotations/");
  images_ = (fs::path(root) / "images" / options.split).string();
  annotations_ = (fs::path(root) / "annotations" / options.split).string();
  require_directory(images_, key + ".root", "images/" + options.split + "/ in the COCO-Stuff root");
  require_directory(annotations_, key + ".root", "annotations/" + options.split + "/ in the COCO-Stuff root");
  if (options.list) {
    ids_ = read_split_list(resolve_path(context.base_dir, *options.list), key + ".list");
  } else {
    for (const auto& file : files_ending_with(images_, ".jpg")) ids_.push_back(fs::path(file).stem().string());
    if (ids_.empty()) throw Error(key + ".root: no .jpg image in " + images_);
  }

  // Stored value v is COCO category id v + 1.
  const auto& names = cocostuff_182_names();
  const auto& unused = cocostuff_unused_ids();
  classes_.set(kUnlabeled, static_cast<int>(context.ignore_index));
  int next = 0;
  for (int value = 0; value < 182; ++value) {
    const bool occurs = std::find(unused.begin(), unused.end(), value + 1) == unused.end();
    if (options.label_mapping == "all182") {
      classes_.set(value, value);
    } else if (occurs) {
      classes_.set(value, next++);
    } else {
      classes_.set(value, static_cast<int>(context.ignore_index));  // never in the annotations; void if it ever were
      continue;
    }
    info_.class_names.push_back(names[static_cast<std::size_t>(value)]);
  }
  if (context.num_classes > 0 && context.num_classes != info_.num_classes())
    throw Error(key + ": data.num_classes is " + std::to_string(context.num_classes) + " but label_mapping '" +
                options.label_mapping + "' gives " + std::to_string(info_.num_classes()) + " classes");
  info_.palette = voc_palette();
  info_.ignore_index = context.ignore_index;
}

cv::Mat CocoStuff164kDataset::load_label(std::size_t index) const {
  const std::string path = (fs::path(annotations_) / (ids_.at(index) + ".png")).string();
  return classes_.apply(read_label_png(path), path, "a COCO-Stuff-164k value (0..181 the classes, 255 unlabeled)");
}

Sample CocoStuff164kDataset::load(std::size_t index) const {
  const std::string& id = ids_.at(index);
  return read_sample(id, (fs::path(images_) / (id + ".jpg")).string(), (fs::path(annotations_) / (id + ".png")).string(),
                     [&] { return load_label(index); });
}

}  // namespace segdistill::datasets_plugin

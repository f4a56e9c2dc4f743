#include "folder.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include "segdistill/data/image_io.hpp"
#include "split_list.hpp"

namespace fs = std::filesystem;

namespace segdistill::datasets_plugin {

namespace {
bool is_image(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}
}  // namespace

FolderDataset::FolderDataset(const FolderOptions& options, const DatasetContext& context) {
  const std::string key = context.config_key;
  const std::string root = resolve_path(context.base_dir, options.root);
  image_dir_ = (fs::path(root) / options.image_dir).string();
  label_dir_ = (fs::path(root) / options.label_dir).string();
  require_directory(image_dir_, key + ".image_dir", "the image folder under root");
  require_directory(label_dir_, key + ".label_dir", "the label folder under root");

  std::map<std::string, std::string> images;  // stem -> path, sorted by stem
  for (const auto& entry : fs::directory_iterator(image_dir_))
    if (entry.is_regular_file() && is_image(entry.path())) images[entry.path().stem().string()] = entry.path().string();
  if (options.list) {
    for (const auto& id : read_split_list(resolve_path(context.base_dir, *options.list), key + ".list")) {
      auto it = images.find(id);
      ids_.push_back(id);
      // A listed id without an image is reported when it is loaded, like a missing label.
      image_paths_.push_back(it != images.end() ? it->second : (fs::path(image_dir_) / (id + ".jpg")).string());
    }
  } else {
    for (const auto& [stem, path] : images) {
      if (!fs::exists(fs::path(label_dir_) / (stem + ".png"))) continue;
      ids_.push_back(stem);
      image_paths_.push_back(path);
    }
    if (ids_.empty()) throw Error(key + ": no image in " + image_dir_ + " has a label PNG of the same stem in " + label_dir_);
  }

  info_.class_names = options.class_names;
  if (info_.class_names.empty()) throw Error(key + ".class_names: at least one class is needed");
  if (context.num_classes > 0 && context.num_classes != info_.num_classes())
    throw Error(key + ": data.num_classes is " + std::to_string(context.num_classes) + " but class_names has " +
                std::to_string(info_.num_classes()) + " names");
  if (options.palette.empty()) {
    info_.palette = voc_palette();
  } else {
    if (options.palette.size() != 3 * info_.class_names.size())
      throw Error(key + ".palette: expected 3 values (r, g, b) per class, " + std::to_string(3 * info_.class_names.size()) +
                  " in all, got " + std::to_string(options.palette.size()));
    info_.palette = voc_palette();
    for (std::size_t c = 0; c < info_.class_names.size(); ++c)
      info_.palette[c] = cv::Vec3b(static_cast<uchar>(options.palette[3 * c]), static_cast<uchar>(options.palette[3 * c + 1]),
                                   static_cast<uchar>(options.palette[3 * c + 2]));
  }
  info_.ignore_index = context.ignore_index;
}

cv::Mat FolderDataset::load_label(std::size_t index) const {
  const std::string path = (fs::path(label_dir_) / (ids_.at(index) + ".png")).string();
  cv::Mat label = read_label_png(path);
  check_label_values(label, path, info_.num_classes(), info_.ignore_index);
  return label;
}

Sample FolderDataset::load(std::size_t index) const {
  const std::string& id = ids_.at(index);
  return read_sample(id, image_paths_.at(index), (fs::path(label_dir_) / (id + ".png")).string(),
                     [&] { return load_label(index); });
}

}  // namespace segdistill::datasets_plugin

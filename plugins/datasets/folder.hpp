#pragma once
// A user's own data: images/ and labels/ with matching file stems.
#include <optional>

#include "listed_dataset.hpp"
#include "segdistill/config/schema.hpp"
#include "segdistill/data/dataset.hpp"

namespace segdistill::datasets_plugin {

struct FolderOptions {
  std::string root;
  std::string image_dir;
  std::string label_dir;
  std::optional<std::string> list;
  std::vector<std::string> class_names;
  std::vector<std::int64_t> palette;
  static void declare(Schema<FolderOptions>& s) {
    s.field("root", &FolderOptions::root, "folder holding the image and label folders").required();
    s.field("image_dir", &FolderOptions::image_dir, "images under root (.jpg, .jpeg, .png)").default_value(std::string("images"));
    s.field("label_dir", &FolderOptions::label_dir, "label PNGs under root (8-bit indices or palette), same stems")
        .default_value(std::string("labels"));
    s.field("list", &FolderOptions::list, "list file of sample ids (default: every image that has a label)");
    s.field("class_names", &FolderOptions::class_names, "one name per class, in index order").required();
    s.field("palette", &FolderOptions::palette, "colours as [r, g, b, r, g, b, ...] per class (default: VOC's)")
        .default_value(std::vector<std::int64_t>{})
        .range(0, 255);
  }
};

class FolderDataset : public ListedDataset {
 public:
  FolderDataset(const FolderOptions& options, const DatasetContext& context);
  Sample load(std::size_t index) const override;
  cv::Mat load_label(std::size_t index) const override;

 private:
  std::string image_dir_, label_dir_;
  std::vector<std::string> image_paths_;
};

}  // namespace segdistill::datasets_plugin

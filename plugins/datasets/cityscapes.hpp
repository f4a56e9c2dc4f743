#pragma once
// Cityscapes fine annotations in the official layout (the CIRKD toolbox's too):
// leftImg8bit/<split>/<city>/<name>_leftImg8bit.png and
// gtFine/<split>/<city>/<name>_gtFine_labelIds.png, the label ids mapped to the 19
// training classes.
#include <optional>

#include "label_mapping.hpp"
#include "listed_dataset.hpp"
#include "segdistill/config/schema.hpp"
#include "segdistill/data/dataset.hpp"

namespace segdistill::datasets_plugin {

struct CityscapesOptions {
  std::string root;
  std::string split;
  std::optional<std::string> list;
  static void declare(Schema<CityscapesOptions>& s) {
    s.field("root", &CityscapesOptions::root, "folder holding leftImg8bit/ and gtFine/").required();
    s.field("list", &CityscapesOptions::list,
            "a list file of the CIRKD toolbox's kind (each line 'leftImg8bit/.../<name>_leftImg8bit.png' and its label "
            "path, relative to root) instead of every image of the split");
    s.field("split", &CityscapesOptions::split, "the fine annotations' split")
        .default_value(std::string("train"))
        .one_of({"train", "val"});
  }
};

class CityscapesDataset : public ListedDataset {
 public:
  CityscapesDataset(const CityscapesOptions& options, const DatasetContext& context);
  Sample load(std::size_t index) const override;
  cv::Mat load_label(std::size_t index) const override;

 private:
  std::string image_path(std::size_t index) const;
  std::string label_path(std::size_t index) const;
  void add_sample(const std::string& image_relative);

  std::string root_;
  std::vector<std::string> images_, labels_;  // per sample, relative to root
  LabelMapping train_id_;                     // label id -> class or ignore_index
};

}  // namespace segdistill::datasets_plugin

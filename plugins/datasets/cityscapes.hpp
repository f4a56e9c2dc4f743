#pragma once
// Cityscapes fine annotations in the official layout (the CIRKD toolbox's too):
// leftImg8bit/<split>/<city>/<name>_leftImg8bit.png and
// gtFine/<split>/<city>/<name>_gtFine_labelIds.png, the label ids mapped to the 19
// training classes.
#include <array>

#include "listed_dataset.hpp"
#include "segdistill/config/schema.hpp"
#include "segdistill/data/dataset.hpp"

namespace segdistill::datasets_plugin {

struct CityscapesOptions {
  std::string root;
  std::string split;
  static void declare(Schema<CityscapesOptions>& s) {
    s.field("root", &CityscapesOptions::root, "folder holding leftImg8bit/ and gtFine/").required();
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

  std::string images_, labels_;
  std::array<int, 256> train_id_{};  // label id -> class, ignore_index, or -1: not a Cityscapes label id
};

}  // namespace segdistill::datasets_plugin

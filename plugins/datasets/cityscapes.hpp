#pragma once
// Cityscapes fine annotations in the official layout (the CIRKD toolbox's too):
// leftImg8bit/<split>/<city>/<name>_leftImg8bit.png and
// gtFine/<split>/<city>/<name>_gtFine_labelIds.png, the label ids mapped to the 19
// training classes.
#include <array>

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

class CityscapesDataset : public Dataset {
 public:
  CityscapesDataset(const CityscapesOptions& options, const DatasetContext& context);
  std::size_t size() const override { return ids_.size(); }
  const std::string& id(std::size_t index) const override { return ids_.at(index); }
  Sample load(std::size_t index) const override;
  cv::Mat load_label(std::size_t index) const override;
  const DatasetInfo& info() const override { return info_; }

 private:
  std::string image_path(std::size_t index) const;
  std::string label_path(std::size_t index) const;

  std::string images_, labels_;
  std::vector<std::string> ids_;     // "<city>/<name>"
  std::array<int, 256> train_id_{};  // label id -> class, ignore_index, or -1: not a Cityscapes label id
  DatasetInfo info_;
};

}  // namespace segdistill::datasets_plugin

#pragma once
// CamVid in the SegNet release's layout (the CIRKD toolbox's): <split>/<name>.png images
// and <split>annot/<name>.png labels, values 0..10 the classes and 11 void.
#include <optional>

#include "label_mapping.hpp"
#include "listed_dataset.hpp"
#include "segdistill/config/schema.hpp"

namespace segdistill::datasets_plugin {

struct CamVidOptions {
  std::string root;
  std::string split;
  std::optional<std::string> list;
  static void declare(Schema<CamVidOptions>& s) {
    s.field("root", &CamVidOptions::root, "the CamVid folder with train/, trainannot/, val/, valannot/, test/, testannot/")
        .required();
    s.field("split", &CamVidOptions::split, "the images of one folder, or trainval (train then val)")
        .default_value(std::string("train"))
        .one_of({"train", "val", "test", "trainval"});
    s.field("list", &CamVidOptions::list,
            "a list file of the toolbox's kind (camvid_*_list.txt: each line an image path '.../<split>/<name>.png', "
            "relative to root, and its label path) instead of the split's folders");
  }
};

class CamVidDataset : public ListedDataset {
 public:
  CamVidDataset(const CamVidOptions& options, const DatasetContext& context);
  Sample load(std::size_t index) const override;
  cv::Mat load_label(std::size_t index) const override;

 private:
  void add_sample(const std::string& image_relative, const std::string& where);

  std::string root_;
  std::vector<std::string> images_, labels_;  // per sample, relative to root
  LabelMapping classes_;
};

}  // namespace segdistill::datasets_plugin

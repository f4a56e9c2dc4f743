#pragma once
// Pascal VOC 2012 (VOCdevkit/VOC2012), optionally augmented with SBD.
#include <optional>

#include "segdistill/config/schema.hpp"
#include "segdistill/data/dataset.hpp"

namespace segdistill::datasets_plugin {

struct VocOptions {
  std::string root;
  std::string split;
  std::string label_dir;
  std::optional<std::string> sbd_root;
  std::string exclude_split;
  std::vector<std::string> class_names;
  static void declare(Schema<VocOptions>& s) {
    s.field("root", &VocOptions::root, "the VOC2012 folder (JPEGImages/, SegmentationClass/, ImageSets/Segmentation/)")
        .required();
    s.field("split", &VocOptions::split, "a list of ImageSets/Segmentation (train, val, trainval) or a list file path")
        .default_value(std::string("train"));
    s.field("label_dir", &VocOptions::label_dir, "label folder under root: SegmentationClass or SegmentationClassAug")
        .default_value(std::string("SegmentationClass"));
    s.field("sbd_root", &VocOptions::sbd_root,
            "SBD's dataset folder (cls/, img/, train.txt, val.txt): adds SBD train+val, the 'trainaug' set");
    s.field("exclude_split", &VocOptions::exclude_split, "with sbd_root: VOC list whose ids are left out")
        .default_value(std::string("val"));
    s.field("class_names", &VocOptions::class_names, "class names (default: the 21 VOC classes)")
        .default_value(std::vector<std::string>{});
  }
};

class VocDataset : public Dataset {
 public:
  VocDataset(const VocOptions& options, const DatasetContext& context);
  std::size_t size() const override { return entries_.size(); }
  const std::string& id(std::size_t index) const override { return entries_.at(index).id; }
  Sample load(std::size_t index) const override;
  cv::Mat load_label(std::size_t index) const override;
  const DatasetInfo& info() const override { return info_; }

 private:
  struct Entry {
    std::string id, image, label;
    bool sbd_mat;  // label is SBD's cls/<id>.mat (GTcls.Segmentation)
  };
  std::vector<Entry> entries_;
  DatasetInfo info_;
};

}  // namespace segdistill::datasets_plugin

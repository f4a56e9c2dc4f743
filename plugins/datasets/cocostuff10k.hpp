#pragma once
// COCO-Stuff 10k v1.1: images/*.jpg, annotations/*.mat (S, uint16, 0 = unlabeled),
// imageLists/{train,test,all}.txt.
#include <array>

#include "listed_dataset.hpp"
#include "segdistill/config/schema.hpp"
#include "segdistill/data/dataset.hpp"

namespace segdistill::datasets_plugin {

struct CocoStuff10kOptions {
  std::string root;
  std::string split;
  std::string label_mapping;
  static void declare(Schema<CocoStuff10kOptions>& s) {
    s.field("root", &CocoStuff10kOptions::root, "the cocostuff-10k-v1.1 folder (images/, annotations/, imageLists/)").required();
    s.field("split", &CocoStuff10kOptions::split, "train, test, all (imageLists/) or a list file path")
        .default_value(std::string("train"));
    s.field("label_mapping", &CocoStuff10kOptions::label_mapping,
            "'deeplab182': S - 1, 0 -> ignore, 182 classes (published); 'mmseg171': the 171 annotated classes")
        .default_value(std::string("deeplab182"))
        .one_of({"deeplab182", "mmseg171"});
  }
};

class CocoStuff10kDataset : public ListedDataset {
 public:
  CocoStuff10kDataset(const CocoStuff10kOptions& options, const DatasetContext& context);
  Sample load(std::size_t index) const override;
  cv::Mat load_label(std::size_t index) const override;

 private:
  std::string images_, annotations_;
  std::array<std::uint8_t, 65536> lookup_{};  // stored S value -> class index or ignore
};

}  // namespace segdistill::datasets_plugin

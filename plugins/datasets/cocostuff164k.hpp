#pragma once
// COCO-Stuff-164k with the official stuffthingmaps: images/<split>/<id>.jpg and
// annotations/<split>/<id>.png, value = COCO category id - 1 (0..181), 255 unlabeled.
#include <optional>

#include "label_mapping.hpp"
#include "listed_dataset.hpp"
#include "segdistill/config/schema.hpp"

namespace segdistill::datasets_plugin {

struct CocoStuff164kOptions {
  std::string root;
  std::string split;
  std::optional<std::string> list;
  std::string label_mapping;
  static void declare(Schema<CocoStuff164kOptions>& s) {
    s.field("root", &CocoStuff164kOptions::root, "the folder with images/ and annotations/ (stuffthingmaps)").required();
    s.field("split", &CocoStuff164kOptions::split, "the COCO 2017 split: every .jpg of images/<split>/, in name order")
        .default_value(std::string("train2017"))
        .one_of({"train2017", "val2017"});
    s.field("list", &CocoStuff164kOptions::list,
            "a list file of ids (the toolbox's coco_stuff_164k_{train,val}.txt, one 12-digit id per line) instead of every "
            "image of the split");
    s.field("label_mapping", &CocoStuff164kOptions::label_mapping,
            "'all182': values 0..181 kept, 182 classes (the toolbox; 11 of them never occur, see eval.mean_over); "
            "'used171': the 171 classes that occur, renumbered (mmseg)")
        .default_value(std::string("all182"))
        .one_of({"all182", "used171"});
  }
};

class CocoStuff164kDataset : public ListedDataset {
 public:
  CocoStuff164kDataset(const CocoStuff164kOptions& options, const DatasetContext& context);
  Sample load(std::size_t index) const override;
  cv::Mat load_label(std::size_t index) const override;

 private:
  std::string images_, annotations_;
  LabelMapping classes_;
};

}  // namespace segdistill::datasets_plugin

#pragma once
// ADE20K SceneParsing (ADEChallengeData2016): images/<split>/<name>.jpg and
// annotations/<split>/<name>.png, value 0 "other" (ignored) and 1..150 the classes, which
// become 0..149 (mmseg's reduce_zero_label, the toolbox's shift by one).
#include "label_mapping.hpp"
#include "listed_dataset.hpp"
#include "segdistill/config/schema.hpp"

namespace segdistill::datasets_plugin {

struct Ade20kOptions {
  std::string root;
  std::string split;
  static void declare(Schema<Ade20kOptions>& s) {
    s.field("root", &Ade20kOptions::root, "the ADEChallengeData2016 folder with images/ and annotations/").required();
    s.field("split", &Ade20kOptions::split, "every .jpg of images/<split>/, in name order")
        .default_value(std::string("training"))
        .one_of({"training", "validation"});
  }
};

class Ade20kDataset : public ListedDataset {
 public:
  Ade20kDataset(const Ade20kOptions& options, const DatasetContext& context);
  Sample load(std::size_t index) const override;
  cv::Mat load_label(std::size_t index) const override;

 private:
  std::string images_, annotations_;
  LabelMapping classes_;
};

}  // namespace segdistill::datasets_plugin

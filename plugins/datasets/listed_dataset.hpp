#pragma once
// A data set whose samples are a list of ids found at construction, with fixed info: what
// the folder, COCO-Stuff and Cityscapes data sets share.
#include <string>
#include <vector>

#include "segdistill/data/dataset.hpp"

namespace segdistill::datasets_plugin {

class ListedDataset : public Dataset {
 public:
  std::size_t size() const override { return ids_.size(); }
  const std::string& id(std::size_t index) const override { return ids_.at(index); }
  const DatasetInfo& info() const override { return info_; }

 protected:
  std::vector<std::string> ids_;
  DatasetInfo info_;
};

}  // namespace segdistill::datasets_plugin

// The datasets plugin: Pascal VOC (+SBD), COCO-Stuff 10k and plain folders.
#include "cocostuff10k.hpp"
#include "folder.hpp"
#include "segdistill/plugin_api.hpp"
#include "voc.hpp"

namespace segdistill::datasets_plugin {
namespace {

void register_datasets(PluginRegistrar& r) {
  r.add<VocOptions>(datasets(), "voc", "Pascal VOC 2012 segmentation; with sbd_root the SBD-augmented 'trainaug' set",
                    [](const VocOptions& o, const DatasetContext& c) { return std::make_shared<VocDataset>(o, c); });
  r.add<CocoStuff10kOptions>(datasets(), "cocostuff10k", "COCO-Stuff 10k v1.1 (.mat annotations), 182 or 171 classes",
                             [](const CocoStuff10kOptions& o, const DatasetContext& c) {
                               return std::make_shared<CocoStuff10kDataset>(o, c);
                             });
  r.add<FolderOptions>(datasets(), "folder", "images/ + labels/ (PNG indices or palette) with matching stems",
                       [](const FolderOptions& o, const DatasetContext& c) { return std::make_shared<FolderDataset>(o, c); });
}

}  // namespace
}  // namespace segdistill::datasets_plugin

SEGDISTILL_PLUGIN("datasets", "1.0.0", segdistill::datasets_plugin::register_datasets)

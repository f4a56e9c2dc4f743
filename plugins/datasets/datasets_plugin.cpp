// The datasets plugin: Pascal VOC (+SBD), COCO-Stuff 10k and 164k, Cityscapes, CamVid, ADE20K and
// plain folders.
#include "ade20k.hpp"
#include "camvid.hpp"
#include "cityscapes.hpp"
#include "cocostuff10k.hpp"
#include "cocostuff164k.hpp"
#include "folder.hpp"
#include "segdistill/plugin/plugin_api.hpp"
#include "voc.hpp"

namespace segdistill::datasets_plugin {
namespace {

void register_datasets(PluginRegistrar& r) {
  r.add_class<VocDataset, VocOptions>(datasets(), "voc",
                                      "Pascal VOC 2012 segmentation; with sbd_root the SBD-augmented 'trainaug' set");
  r.add_class<CocoStuff10kDataset, CocoStuff10kOptions>(datasets(), "cocostuff10k",
                                                        "COCO-Stuff 10k v1.1 (.mat annotations), 182 or 171 classes");
  r.add_class<CityscapesDataset, CityscapesOptions>(
      datasets(), "cityscapes",
      "Cityscapes fine annotations (leftImg8bit/, gtFine/ labelIds), mapped to the 19 training classes");
  r.add_class<CamVidDataset, CamVidOptions>(datasets(), "camvid",
                                            "CamVid (SegNet release: <split>/, <split>annot/), 11 classes, 11 = void");
  r.add_class<Ade20kDataset, Ade20kOptions>(datasets(), "ade20k",
                                            "ADE20K SceneParsing (ADEChallengeData2016), 150 classes, 0 = other (ignored)");
  r.add_class<CocoStuff164kDataset, CocoStuff164kOptions>(
      datasets(), "cocostuff164k", "COCO-Stuff-164k (stuffthingmaps PNGs), 182 classes as the toolbox or the 171 used");
  r.add_class<FolderDataset, FolderOptions>(datasets(), "folder",
                                            "images/ + labels/ (PNG indices or palette) with matching stems");
}

}  // namespace
}  // namespace segdistill::datasets_plugin

SEGDISTILL_PLUGIN("datasets", "1.0.0", segdistill::datasets_plugin::register_datasets)

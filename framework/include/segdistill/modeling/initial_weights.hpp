#pragma once
// The weights a network starts training from, on top of its construction (which draws
// the published initialisation): the backbone's ImageNet classification weights
// (`backbone.pretrained`) and, for the student, a whole starting network
// (`model.init_from`, like mmseg's load_from).
#include <string>
#include <vector>

#include "segdistill/core/api.hpp"

namespace segdistill {

class Backbone;
class Config;
class Segmentor;

// What loading an ImageNet file into a backbone did.
struct PretrainedReport {
  std::string format;                // the file's torch.save format
  std::vector<std::string> loaded;   // file keys copied into the backbone
  std::vector<std::string> ignored;  // file keys under pretrained_ignored_prefixes() (the classifier)
  std::vector<std::string> kept;     // backbone tensors the file lacks: they keep their initialisation
};

// Copies an ImageNet classification state dict (torchvision's ResNet files, the
// published MobileNetV2 file) into `backbone` by name. Every key must be a backbone
// tensor of the same shape or fall under the backbone's ignored prefixes; otherwise an
// Error names `config_key`, the file, the key and both shapes (a shape mismatch) or the
// key and the backbone's own first keys (a file of another architecture). Nothing is
// copied unless the whole file fits. BatchNorm counters old files lack are not reported.
SEGDISTILL_API PretrainedReport load_pretrained_backbone(Backbone& backbone, const std::string& path,
                                                         const std::string& config_key);

// Applies `section`'s ("model" or "teacher") backbone.pretrained and, for "model",
// init_from / init_from_partial to a network just built from that section, logging
// what was loaded, ignored and kept. Does nothing for keys that are unset or "".
SEGDISTILL_API void load_initial_weights(Segmentor& network, const Config& config, const std::string& section);

}  // namespace segdistill

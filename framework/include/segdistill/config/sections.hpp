#pragma once
// The top-level sections of a configuration that the SDK itself reads, each declared
// once with its keys, so that `config check` and every command validate the same way.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "segdistill/config/config.hpp"
#include "segdistill/config/schema.hpp"
#include "segdistill/core/api.hpp"

namespace segdistill {

struct PluginsSection {
  std::vector<std::string> dirs;  // searched after --plugin-dir and SEGDISTILL_PLUGIN_PATH
  std::vector<std::string> load;  // plugin files loaded in addition to the search path
  static void declare(Schema<PluginsSection>& s) {
    s.field("dirs", &PluginsSection::dirs, "folders searched for plugin libraries (segdistill_*.so)")
        .default_value(std::vector<std::string>{});
    s.field("load", &PluginsSection::load, "plugin library files to load, in order").default_value(std::vector<std::string>{});
  }
};

// Where the backbone's tensors sit in the network's state dict.
inline constexpr const char* kBackboneKeyHelp =
    "state-dict prefix of the backbone's tensors: 'backbone' (the DeepLabV3+ reference, mmseg), 'pretrained' (the CIRKD "
    "toolbox), '' (at the top level, as the toolbox's SegFormer)";

struct ModelSection {
  std::int64_t num_classes;
  ConfigTable backbone;
  ConfigTable head;
  std::optional<std::string> init_from;
  bool init_from_partial;
  bool frozen_bn;
  std::string backbone_key;
  static void declare(Schema<ModelSection>& s) {
    s.field("num_classes", &ModelSection::num_classes,
            "classes the network predicts (at most 65536: labels are 8-bit PNG or 16-bit .mat values)")
        .required()
        .range(1, 65536);
    s.field("backbone", &ModelSection::backbone,
            "backbone: {type = NAME, pretrained = IMAGENET_FILE (torchvision / published layout; \"\" for none), ...its options}")
        .required()
        .component("backbones");
    s.field("head", &ModelSection::head, "head: {type = NAME, ...its options}").required().component("heads");
    s.field("backbone_key", &ModelSection::backbone_key, kBackboneKeyHelp)
        .default_value(std::string("backbone"))
        .one_of({"backbone", "pretrained", ""});
    s.field("init_from", &ModelSection::init_from,
            "training starts from these weights: a segdistill checkpoint or a PyTorch state dict (mmseg's load_from); "
            "every key and shape must match");
    s.field("init_from_partial", &ModelSection::init_from_partial,
            "init_from loads the tensors that match by name and shape and lists the rest")
        .default_value(false);
    s.field("frozen_bn", &ModelSection::frozen_bn,
            "every BatchNorm of the network (backbone and head) keeps its statistics and affine parameters fixed; "
            "what the published freeze_bn means to do (its trainer's model.train() undoes it, so the published runs "
            "train every BatchNorm)")
        .default_value(false);
  }
};

struct TeacherSection {
  ConfigTable backbone;
  ConfigTable head;
  std::optional<std::string> checkpoint;
  std::string mode;
  std::int64_t num_classes;
  std::string backbone_key;
  static void declare(Schema<TeacherSection>& s) {
    s.field("num_classes", &TeacherSection::num_classes, "classes the teacher predicts (0: the student's)")
        .default_value(0)
        .at_least(0);
    s.field("checkpoint", &TeacherSection::checkpoint, "teacher weights (segdistill or imported checkpoint)");
    s.field("mode", &TeacherSection::mode,
            "'eval' (frozen BatchNorm statistics, no dropout) or 'train' (batch statistics and the head's dropouts, as "
            "published; the published teacher also sets head.aspp_dropout = 0)")
        .default_value(std::string("eval"))
        .one_of({"eval", "train"});
    s.field("backbone", &TeacherSection::backbone, "teacher backbone: {type = NAME, pretrained = IMAGENET_FILE, ...}")
        .required()
        .component("backbones");
    s.field("head", &TeacherSection::head, "teacher head: {type = NAME, ...}").required().component("heads");
    s.field("backbone_key", &TeacherSection::backbone_key, kBackboneKeyHelp)
        .default_value(std::string("backbone"))
        .one_of({"backbone", "pretrained", ""});
  }
};

// One top-level section: its key and the schema its table must satisfy.
struct SectionSpec {
  std::string key;
  std::string help;
  SchemaSpec schema;
  bool array_of_tables = false;  // [[key]]
  std::string component_kind;    // an array of registry components ([[distillers]])
  // Checks beyond the schema (a split's pipeline); of an array, each table whole (its
  // registry entry's keys too). May be empty.
  std::function<void(const ConfigTable&)> extra_check;
  int order = 0;  // place in config_sections()
};

// Adds a top-level section. Each layer registers the sections it reads, from its own
// source (a static SectionRegistration), so that this layer needs to know none of them.
SEGDISTILL_API void register_config_section(SectionSpec section);
struct SectionRegistration {
  explicit SectionRegistration(SectionSpec section) { register_config_section(std::move(section)); }
};

// Places of the sections, in the order of docs/architecture.md.
namespace section_order {
inline constexpr int kModel = 10, kTeacher = 20, kDistillers = 30, kHooks = 40, kTrain = 50, kData = 60, kEval = 70,
                     kPlugins = 80;
}  // namespace section_order

// Every section registered, by order.
SEGDISTILL_API const std::vector<SectionSpec>& config_sections();

// Validates a resolved config: unknown sections, and every key of every section and of
// every component it names (registry names included; plugins must be loaded first).
// Throws Error naming file:line and the dotted key path of the first problem.
SEGDISTILL_API void validate_config(const Config& config);

}  // namespace segdistill

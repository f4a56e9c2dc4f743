#pragma once
// The distiller registry: beside each factory it keeps what the distiller takes, declared
// at registration, so that a config is checked against it before anything is built. The
// framework's keys of a [[distillers]] entry are declared here once; the registry's
// reserved keys, the config reference and the reader in distill/ all derive from them.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "segdistill/config/schema.hpp"
#include "segdistill/core/api.hpp"
#include "segdistill/plugin/registry.hpp"

namespace segdistill {

class Distiller;
struct DistillerContext;

// The features a [[distillers]] entry gets when it names none (KD: the logits of both
// networks). Empty: the config must name them.
struct DefaultFeatures {
  std::vector<std::string> student;
  std::vector<std::string> teacher;
};

// What a distiller takes from each network.
struct DistillerInputs {
  bool levels = false;  // a LevelDistiller: the lists student_features / teacher_features
  bool labels = false;  // a LabelledPairDistiller: the batch's labels too
  DefaultFeatures defaults;
};

// The framework's keys of a [[distillers]] entry; the distiller reads the others. One
// feature of each network (student_feature, teacher_feature) or, for a LevelDistiller,
// two lists of one length (student_features, teacher_features).
struct DistillerKeys {
  std::optional<std::string> student_feature;
  std::optional<std::string> teacher_feature;
  std::optional<std::vector<std::string>> student_features;
  std::optional<std::vector<std::string>> teacher_features;
  double weight;
  std::optional<std::string> name;
  // Resolved by read_distiller_keys (distill/assembly.hpp): the pairs, in order, the
  // distiller's defaults where the config names none.
  std::vector<std::string> student_names;
  std::vector<std::string> teacher_names;
  static void declare(Schema<DistillerKeys>& s) {
    s.field("student_feature", &DistillerKeys::student_feature,
            "student feature (head.decoder, backbone.layer4, logits, ...); default: the distiller's own, if it declares one");
    s.field("teacher_feature", &DistillerKeys::teacher_feature, "teacher feature; default: the distiller's own");
    s.field("student_features", &DistillerKeys::student_features,
            "student features of a multi-level distiller (reviewkd), in order; instead of student_feature");
    s.field("teacher_features", &DistillerKeys::teacher_features,
            "teacher features paired with student_features (same length); instead of teacher_feature");
    s.field("weight", &DistillerKeys::weight, "factor of this term in the total loss").default_value(1.0).at_least(0);
    s.field("name", &DistillerKeys::name, "name of the loss term in logs (default: the type)");
  }
};

class SEGDISTILL_API DistillerRegistry : public Registry<Distiller, const DistillerContext&> {
 public:
  DistillerRegistry();
  // Hides Registry::add: a distiller is registered with what it takes.
  void add(RegistryEntryInfo info, DistillerInputs inputs, Factory factory);
  // What `name` takes; Error listing the available names when there is none.
  const DistillerInputs& inputs(const std::string& name) const;
  void remove_origin(const std::string& origin) override;

 private:
  std::map<std::string, DistillerInputs> inputs_;
};

}  // namespace segdistill

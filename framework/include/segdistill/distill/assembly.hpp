#pragma once
// The [[distillers]] of a config, built for one student and one teacher: each distiller
// with the features it declared at registration (plugin/distiller_registry.hpp), and the
// step's call that hands it exactly those.
#include <memory>
#include <string>
#include <vector>

#include "segdistill/config/config.hpp"
#include "segdistill/core/api.hpp"
#include "segdistill/distill/distiller.hpp"
#include "segdistill/plugin/distiller_registry.hpp"

namespace segdistill {

class Segmentor;

// Reads the framework's keys of a [[distillers]] table, checked against what its type
// takes: lists only for a LevelDistiller, the type's default features where the table
// names none. The type must be registered.
SEGDISTILL_API DistillerKeys read_distiller_keys(const ConfigTable& table);

struct AssembledDistiller {
  std::string config_key;  // "distillers.0"
  std::string type;
  std::string loss_name;  // "loss_<name>", unique in the run
  double weight = 1;
  std::shared_ptr<Distiller> module;
  std::vector<std::string> student_features, teacher_features;  // what it is handed, in order
};

// What every distiller of a run is built with beside its own features.
struct DistillerRunFacts {
  std::int64_t ignore_index = 255;  // data.ignore_index
  std::uint64_t seed = 0;           // train.seed
};

// Builds every [[distillers]] entry of `config`. Names that repeat get "_1", "_2".
SEGDISTILL_API std::vector<AssembledDistiller> build_distillers(const Config& config, const Segmentor& student,
                                                                const Segmentor& teacher, SharedModules& shared,
                                                                const DistillerRunFacts& facts = {});

// The distiller's unweighted losses from one step's features and the batch's labels
// (needed by distillers that take them). A declared feature missing from the forward
// pass is an Error naming the distiller, its key and the features there.
SEGDISTILL_API DistillLosses distill_step(const AssembledDistiller& distiller, const FeatureMap& student,
                                          const FeatureMap& teacher, const at::Tensor& labels = {});

}  // namespace segdistill

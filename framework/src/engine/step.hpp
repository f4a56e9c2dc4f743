#pragma once
// One training iteration: forward the student (and teacher), the losses, the ranks'
// agreement on their values, backward, gradient averaging, the optimizer step.
#include <map>
#include <string>

#include "engine/run.hpp"

namespace segdistill {

struct StepResult {
  // Averaged over ranks: "loss", "loss_<loss>", "loss_<distiller>", "loss_<distiller>.<term>";
  // and what distillers that step a model of their own log: "<distiller>.<key>".
  std::map<std::string, double> losses;
  bool stop_requested = false;  // a rank was asked to stop (SIGINT/SIGTERM)
};

// Runs one iteration on `batch` (this rank's share of the global batch). Throws Error,
// without stepping, when the loss is not finite.
StepResult run_step(Run& run, const Batch& batch);

}  // namespace segdistill

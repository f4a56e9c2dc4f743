#pragma once
// The trainer's own behaviour around the loop's stages, written as hooks against the
// public Trainer interface alone: what a plugin hook can do, these do.
#include <memory>
#include <vector>

#include "segdistill/engine/hook.hpp"
#include "segdistill/engine/lr_schedule.hpp"

namespace segdistill {

// Sets each optimizer group's LR to base x schedule(iteration) x the group's multiplier.
std::shared_ptr<Hook> make_lr_hook(double base_lr, std::vector<double> group_multipliers, std::shared_ptr<LrSchedule> schedule);
// The progress bar and the log's lines of each iteration's record.
std::shared_ptr<Hook> make_logging_hook();
// train.save_best: checkpoints/best.pt and best.json whenever a validation beats the best
// mIoU so far; the best so far is part of the run's state, so a resumed run keeps it.
std::shared_ptr<Hook> make_best_checkpoint_hook();

// train.tensorboard: the logged records (every train.log_every) and each validation's
// metrics, per-class IoU and (the student's) a grid of val images | labels | predictions,
// as TensorBoard event files in WORK_DIR/tensorboard.
std::shared_ptr<Hook> make_tensorboard_hook();

}  // namespace segdistill

#pragma once
// Precise BatchNorm statistics before each validation (train.precise_bn_batches; what
// detectron2's PreciseBN and mmcv's PreciseBNHook do). A small batch's running averages
// (momentum 0.1: about the last ten batches) drift from batch to batch, and a small
// network's validation mIoU moves by points with them while its weights stand still. The
// plain average over many batches measures the weights instead.
namespace segdistill {

struct Run;
class Segmentor;

// Replaces the running mean and variance of every BatchNorm2d of `model` that trains
// (neither frozen nor folded) with their average over train.precise_bn_batches training
// batches: the model's forward in eval mode with only those layers in training mode (no
// dropout: no random number is drawn, so the run's random stream is untouched), no
// gradients, the batches of a loader of its own (the train split, its pipeline, an order
// seeded by train.seed alone: every validation, and a resumed run's, uses the same batches).
// In a data-parallel run the ranks average their statistics. The layers keep their
// momentum; the model is left in training mode. Does nothing when the key is 0.
void recompute_batch_norm_statistics(Run& run, Segmentor& model);

}  // namespace segdistill

#pragma once
// The [train] section and the framework's key of each [[hooks]] entry.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "segdistill/config/schema.hpp"
#include "segdistill/config/table.hpp"

namespace segdistill {

struct OptimizerOptions {
  std::string type;
  double lr;
  double momentum;
  bool nesterov;
  double weight_decay;
  std::vector<double> betas;
  double eps;
  static void declare(Schema<OptimizerOptions>& s) {
    s.field("type", &OptimizerOptions::type,
            "'sgd', or 'adamw' (decoupled weight decay, PyTorch's AdamW; the CIRKD toolbox's MobileViT and SegFormer "
            "recipes)")
        .default_value(std::string("sgd"))
        .one_of({"sgd", "adamw"});
    s.field("lr", &OptimizerOptions::lr, "base learning rate (of the backbone)").required().range(0, 100);
    s.field("momentum", &OptimizerOptions::momentum, "SGD momentum (sgd only)").default_value(0.9).range(0, 1);
    s.field("nesterov", &OptimizerOptions::nesterov, "Nesterov momentum (sgd only)").default_value(true);
    s.field("weight_decay", &OptimizerOptions::weight_decay,
            "L2 weight decay (sgd: added to the gradient; adamw: w -= lr * weight_decay * w)")
        .default_value(5e-4)
        .range(0, 1);
    s.field("betas", &OptimizerOptions::betas, "AdamW's moment decays [beta1, beta2] (adamw only)")
        .default_value(std::vector<double>{0.9, 0.999})
        .range(0, 0.999999);
    s.field("eps", &OptimizerOptions::eps, "AdamW's denominator term (adamw only)").default_value(1e-8).range(0, 1);
  }
};

struct TrainSection {
  std::int64_t iterations;
  std::int64_t epochs;
  std::int64_t batch_size;
  std::int64_t workers;
  std::int64_t seed;
  ConfigTable optimizer;
  ConfigTable lr_schedule;
  double head_lr_mult;
  double distiller_lr_mult;
  ConfigTable loss;
  bool ce_batch_average;
  double aux_weight;
  std::string aux_logits;
  double grad_clip;
  std::int64_t log_every;
  std::int64_t checkpoint_every;
  std::int64_t eval_every;
  std::int64_t eval_every_epochs;
  bool save_best;
  bool tensorboard;
  std::string precision;
  bool channels_last;
  std::int64_t keep_last;
  std::string work_dir;
  bool sync_bn;
  std::string dist_backend;
  double dist_timeout;
  double dist_bucket_mb;
  std::int64_t precise_bn_batches;
  static void declare(Schema<TrainSection>& s) {
    s.field("iterations", &TrainSection::iterations, "training iterations (or set epochs)").default_value(0).at_least(0);
    s.field("epochs", &TrainSection::epochs, "training epochs, when iterations is 0").default_value(0).at_least(0);
    s.field("batch_size", &TrainSection::batch_size, "images per iteration").default_value(8).at_least(1);
    s.field("workers", &TrainSection::workers, "data loading threads").default_value(2).range(0, 64);
    s.field("seed", &TrainSection::seed, "seed of weights, data order, augmentation and dropout").default_value(0).at_least(0);
    s.field("optimizer", &TrainSection::optimizer,
            "{type = sgd (default): lr, momentum, nesterov, weight_decay | type = adamw: lr, betas, eps, weight_decay}")
        .required();
    s.field("lr_schedule", &TrainSection::lr_schedule,
            "{type = poly | cosine | step, ...} (segdistill config schema lr_schedules)")
        .component("lr_schedules");
    s.field("head_lr_mult", &TrainSection::head_lr_mult, "LR multiplier of the head (10 in the published runs)")
        .default_value(10.0)
        .range(0, 1000);
    s.field("distiller_lr_mult", &TrainSection::distiller_lr_mult, "LR multiplier of distiller parameters")
        .default_value(1.0)
        .range(0, 1000);
    s.field("loss", &TrainSection::loss, "segmentation loss: {type = cross_entropy | focal, ...} (default cross_entropy)")
        .component("losses");
    s.field("ce_batch_average", &TrainSection::ce_batch_average,
            "divide the segmentation loss by train.batch_size, as the published code does (its batch_average): "
            "the distillation terms then weigh batch_size times more against it")
        .default_value(false);
    s.field("aux_weight", &TrainSection::aux_weight,
            "weight of the auxiliary segmentation loss on train.aux_logits (the CIRKD toolbox: 0.4 for its ResNet "
            "networks; 0: off)")
        .default_value(0.0)
        .range(0, 100);
    s.field("aux_logits", &TrainSection::aux_logits,
            "the student feature holding the auxiliary head's logits (resized to the labels, bilinear, as the logits)")
        .default_value(std::string("head.aux_logits"));
    s.field("grad_clip", &TrainSection::grad_clip, "clip the gradient norm to this (0: off)").default_value(0.0).at_least(0);
    s.field("log_every", &TrainSection::log_every, "iterations between log lines / metrics.jsonl records")
        .default_value(20)
        .at_least(1);
    s.field("checkpoint_every", &TrainSection::checkpoint_every, "iterations between checkpoints (the last one always)")
        .default_value(1000)
        .at_least(1);
    s.field("eval_every", &TrainSection::eval_every, "iterations between validations (0: only at the end)")
        .default_value(0)
        .at_least(0);
    s.field("eval_every_epochs", &TrainSection::eval_every_epochs,
            "epochs between validations (0: off; the published runs validate every epoch)")
        .default_value(0)
        .at_least(0);
    s.field("save_best", &TrainSection::save_best,
            "keep checkpoints/best.pt (the student's weights) and best.json of the best validation mIoU")
        .default_value(false);
    s.field("tensorboard", &TrainSection::tensorboard,
            "write WORK_DIR/tensorboard/events.out.tfevents.* (losses, lr, images/s, validation metrics and per-class "
            "IoU, a prediction grid at each validation) for `tensorboard --logdir`")
        .default_value(true);
    s.field("precision", &TrainSection::precision,
            "fp32, or mixed precision: bf16 (CPUs with AVX512-BF16 or AMX, CUDA) or fp16 (CUDA, with dynamic loss "
            "scaling); convolutions and matrix products run in it, weights, optimizer state, checkpoints, the losses "
            "and BatchNorm statistics stay fp32")
        .default_value(std::string("fp32"))
        .one_of({std::string("fp32"), std::string("bf16"), std::string("fp16")});
    s.field("channels_last", &TrainSection::channels_last,
            "store the networks' feature maps and convolution weights channels-last (NHWC), which LibTorch's "
            "convolutions run faster on")
        .default_value(true);
    s.field("keep_last", &TrainSection::keep_last, "checkpoints kept (older ones deleted)").default_value(3).at_least(1);
    s.field("work_dir", &TrainSection::work_dir, "output folder (--work-dir overrides)").default_value(std::string(""));
    s.field("sync_bn", &TrainSection::sync_bn, "data-parallel runs: BatchNorm statistics over the global batch of all ranks")
        .default_value(false);
    s.field("dist_backend", &TrainSection::dist_backend,
            "data-parallel collectives: gloo, nccl, or auto (nccl on CUDA, else gloo)")
        .default_value(std::string("auto"))
        .one_of({std::string("auto"), std::string("gloo"), std::string("nccl")});
    s.field("dist_timeout", &TrainSection::dist_timeout, "seconds a rank waits for the others (rendezvous, every collective)")
        .default_value(300.0)
        .range(1, 86400);
    s.field("dist_bucket_mb", &TrainSection::dist_bucket_mb, "size of the gradient buckets all-reduced together (MB)")
        .default_value(25.0)
        .range(0.01, 4096);
    s.field("precise_bn_batches", &TrainSection::precise_bn_batches,
            "before each validation, the student's BatchNorm statistics become their plain average over this many training "
            "batches (detectron2's PreciseBN): the running averages of small batches drift, and a small network's val mIoU "
            "with them; 0: off")
        .default_value(0)
        .range(0, 100000);
  }
};

// The framework's key of a [[hooks]] table (read by read_hook_priority; declared for the
// config reference); the hook reads the others.
struct HookKeys {
  std::optional<std::string> priority;
  static void declare(Schema<HookKeys>& s) {
    s.field("priority", &HookKeys::priority,
            "where the hook runs among the others: highest, very_high, high, above_normal, normal, below_normal, low, "
            "very_low, lowest, or a number from 0 to 100 (lower runs first; default: the hook's own)");
  }
};

// The `priority` of a [[hooks]] table: a name (engine/hook.hpp's priority::) or a number
// from 0 to 100; nullopt when the table has none (the hook's own priority() holds).
SEGDISTILL_API std::optional<int> read_hook_priority(const ConfigTable& table);

// train.optimizer parsed; Error naming the key when it sets an option of the other
// optimizer type (momentum or nesterov for adamw, betas or eps for sgd).
SEGDISTILL_API OptimizerOptions optimizer_options(const ConfigTable& optimizer);

}  // namespace segdistill

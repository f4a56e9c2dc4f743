#include "engine/precise_batch_norm.hpp"

#include <optional>
#include <vector>

#include "engine/run.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/data/sections.hpp"
#include "segdistill/modeling/batch_norm.hpp"

namespace segdistill {

namespace {

// The batches' order is a stream of its own, apart from the training order's.
constexpr std::uint64_t kPreciseBatchNormStream = 0x9E3779B97F4A7C15ull;

struct SavedLayer {
  BatchNorm2dImpl* layer;
  c10::optional<double> momentum;
  at::Tensor batches_tracked;
};

}  // namespace

void recompute_batch_norm_statistics(Run& run, Segmentor& model) {
  const std::int64_t batches = run.train.precise_bn_batches;
  if (batches <= 0) return;
  std::vector<SavedLayer> layers;
  for (const auto& module : model.modules(/*include_self=*/false)) {
    auto* layer = module->as<BatchNorm2dImpl>();
    if (layer == nullptr || !layer->is_training() || layer->folded) continue;
    layers.push_back({layer, layer->options.momentum(), layer->num_batches_tracked.clone()});
    // No momentum: a cumulative average over the batches counted from zero.
    layer->options.momentum(c10::nullopt);
    layer->num_batches_tracked.zero_();
  }
  if (layers.empty()) return;
  model.eval();
  for (auto& saved : layers) saved.layer->train(true);

  LoaderOptions options;
  options.batch_size = run.train.batch_size / run.world_size;
  options.workers = static_cast<int>(run.train.workers);
  options.shuffle = true;
  options.drop_last = true;
  options.seed = static_cast<std::uint64_t>(run.train.seed) ^ kPreciseBatchNormStream;
  options.shard_rank = run.rank;
  options.shard_count = run.world_size;
  DataLoader loader(build_split(run.config, "train"), options);
  // The same batches at every validation: what moves between two validations is then the
  // weights alone, not the sample the statistics were drawn from.
  std::int64_t epoch = 0;
  loader.start_epoch(epoch);
  {
    torch::NoGradGuard no_gradients;
    for (std::int64_t done = 0; done < batches;) {
      std::optional<Batch> batch = loader.next();
      if (!batch) {
        loader.start_epoch(++epoch);
        continue;
      }
      at::Tensor images = batch->images.to(run.device);
      if (run.student_channels_last) images = images.contiguous(at::MemoryFormat::ChannelsLast);
      AutocastScope autocast(run.device, run.precision);
      model.forward(images);
      ++done;
    }
  }
  if (run.parallel) {
    std::vector<at::Tensor> statistics;
    for (auto& saved : layers) statistics.insert(statistics.end(), {saved.layer->running_mean, saved.layer->running_var});
    run.parallel->collectives().all_reduce_sum(statistics);
    for (auto& s : statistics) s.div_(run.world_size);
  }
  for (auto& saved : layers) {
    saved.layer->options.momentum(saved.momentum);
    saved.layer->num_batches_tracked.copy_(saved.batches_tracked);
  }
  model.train();
  logger()->debug("BatchNorm statistics of {} layers recomputed over {} batches", layers.size(), batches);
}

}  // namespace segdistill

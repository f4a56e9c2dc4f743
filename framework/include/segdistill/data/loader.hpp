#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <opencv2/core.hpp>

#include "segdistill/core/api.hpp"
#include "segdistill/data/sections.hpp"

namespace segdistill {

struct Batch {
  at::Tensor images;  // N x 3 x H x W, float32
  at::Tensor labels;  // N x H x W, int64 (undefined when the split has no labels)
  std::vector<std::string> ids;
  std::vector<cv::Size> original_sizes;  // each image's size as read
  std::vector<Sample> samples;           // kept only with LoaderOptions::keep_samples
};

struct LoaderOptions {
  std::int64_t batch_size = 1;
  int workers = 2;   // loading threads; 0 loads on the calling thread
  int prefetch = 2;  // batches prepared ahead per worker
  bool shuffle = false;
  bool drop_last = false;
  std::uint64_t seed = 0;
  bool keep_samples = false;          // also return the transformed samples (data show, predictions)
  bool keep_original_labels = false;  // keep each sample's label as read, before the pipeline
  // Data-parallel share of this process (rank shard_rank of shard_count). With drop_last
  // (training) each global batch is batch_size x shard_count consecutive samples of the
  // epoch order and rank r loads the r-th batch_size of them, so the ranks together see
  // a single process's global batches; otherwise (evaluation) rank r loads samples
  // r, r + shard_count, ...
  int shard_rank = 0;
  int shard_count = 1;
};

// Loads batches of a split in worker threads, with bounded prefetch. The order of an
// epoch and every sample's augmentation derive from (seed, epoch, index) only, so an
// interrupted run resumes with the same data, whatever the number of workers.
class SEGDISTILL_API DataLoader {
 public:
  DataLoader(DataSplit split, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Starts epoch `epoch`, beginning at batch `first_batch` (to resume mid-epoch).
  void start_epoch(std::int64_t epoch, std::size_t first_batch = 0);
  // The next batch of the epoch, in order; nullopt at its end. Rethrows a worker's
  // error (a bad sample when on_bad_sample = "error").
  std::optional<Batch> next();

  std::size_t batches_per_epoch() const;
  // Samples skipped as bad since the loader was made (on_bad_sample = "skip").
  std::size_t skipped_samples() const;
  const DataSplit& split() const;

  // The sample order of an epoch (a permutation when shuffling), before sharding.
  std::vector<std::size_t> epoch_order(std::int64_t epoch) const;
  // This process's share of it.
  std::vector<std::size_t> shard_order(std::int64_t epoch) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Applies a split's pipeline to sample `index`, seeded as the loader seeds it.
SEGDISTILL_API Sample load_transformed(const DataSplit& split, std::size_t index, std::uint64_t seed, std::int64_t epoch,
                                       bool keep_original_label = false);

}  // namespace segdistill

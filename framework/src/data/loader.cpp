#include "segdistill/data/loader.hpp"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include <ATen/ATen.h>
#include <opencv2/core.hpp>

#include "segdistill/core/error.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/core/random.hpp"

namespace segdistill {

namespace {

std::mt19937_64 sample_rng(std::uint64_t seed, std::int64_t epoch, std::size_t index) {
  std::seed_seq sequence{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                         static_cast<std::uint32_t>(epoch), static_cast<std::uint32_t>(index),
                         static_cast<std::uint32_t>(static_cast<std::uint64_t>(index) >> 32)};
  return std::mt19937_64(sequence);
}

Batch collate(std::vector<Sample> samples, const std::string& key, bool keep) {
  Batch batch;
  if (samples.empty()) return batch;
  const cv::Size size = samples.front().image.size();
  bool labelled = true;
  for (const auto& s : samples) {
    if (s.image.size() != size)
      throw Error(key + ": samples '" + samples.front().id + "' (" + std::to_string(size.width) + "x" +
                  std::to_string(size.height) + ") and '" + s.id + "' (" + std::to_string(s.image.cols) + "x" +
                  std::to_string(s.image.rows) +
                  ") differ in size after the pipeline and cannot share a batch; crop or pad them to one size "
                  "(random_scale_crop, pad_to, resize) or use batch size 1");
    if (s.image.channels() != 3) throw Error(key + ": sample '" + s.id + "' does not have 3 channels after the pipeline");
    labelled = labelled && !s.label.empty();
  }
  const auto n = static_cast<std::int64_t>(samples.size());
  batch.images = at::empty({n, 3, size.height, size.width}, at::kFloat);
  if (labelled) batch.labels = at::empty({n, size.height, size.width}, at::kByte);
  for (std::int64_t i = 0; i < n; ++i) {
    const Sample& s = samples[static_cast<std::size_t>(i)];
    cv::Mat image = s.image;
    if (image.depth() != CV_32F) image.convertTo(image, CV_32F);
    float* base = batch.images[i].data_ptr<float>();
    const std::size_t plane = static_cast<std::size_t>(size.area());
    // Split HWC into the tensor's three CHW planes directly, with no intermediate copy.
    std::vector<cv::Mat> planes{cv::Mat(size, CV_32FC1, base), cv::Mat(size, CV_32FC1, base + plane),
                                cv::Mat(size, CV_32FC1, base + 2 * plane)};
    cv::split(image, planes);
    if (labelled) {
      if (s.label.size() != size || s.label.type() != CV_8UC1)
        throw Error(key + ": sample '" + s.id + "' has a label of another size or type than its image after the pipeline");
      cv::Mat destination(size, CV_8UC1, batch.labels[i].data_ptr<std::uint8_t>());
      s.label.copyTo(destination);
    }
    batch.ids.push_back(s.id);
    batch.original_sizes.push_back(s.original_size);
  }
  if (labelled) batch.labels = batch.labels.to(at::kLong);
  if (keep) batch.samples = std::move(samples);
  return batch;
}

}  // namespace

Sample load_transformed(const DataSplit& split, std::size_t index, std::uint64_t seed, std::int64_t epoch,
                        bool keep_original_label) {
  // OpenCV reports what it cannot decode or allocate by exception: that is a bad sample,
  // named, and subject to on_bad_sample like any other.
  try {
    Sample sample = split.dataset->load(index);
    if (keep_original_label) sample.original_label = sample.label.clone();
    std::mt19937_64 rng = sample_rng(seed, epoch, index);
    for (const auto& transform : split.pipeline) transform->apply(sample, rng);
    return sample;
  } catch (const cv::Exception& e) {
    throw SampleError("OpenCV could not process it: " + e.err + " (in " + e.func + ")");
  }
}

struct DataLoader::State {
  DataSplit split;
  LoaderOptions options;
  std::vector<std::size_t> order;
  std::int64_t epoch = 0;
  std::size_t num_batches = 0;
  std::size_t consumed = 0;     // next batch next() returns
  std::size_t next_assign = 0;  // next batch a worker takes
  bool stop = false;
  std::map<std::size_t, std::pair<Batch, std::exception_ptr>> ready;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::thread> workers;
  std::atomic<std::size_t> skipped{0};

  Batch make_batch(std::size_t b) {
    const auto size = static_cast<std::size_t>(options.batch_size);
    std::vector<Sample> samples;
    for (std::size_t i = b * size; i < std::min(order.size(), (b + 1) * size); ++i) {
      try {
        samples.push_back(load_transformed(split, order[i], options.seed, epoch, options.keep_original_labels));
      } catch (const SampleError& e) {
        if (!split.skip_bad_samples)
          throw Error(split.key + ": bad sample '" + split.dataset->id(order[i]) + "': " + e.what() +
                      " (on_bad_sample = \"skip\" skips such samples)");
        ++skipped;
        logger()->warn("{}: skipped sample '{}': {}", split.key, split.dataset->id(order[i]), e.what());
      }
    }
    return collate(std::move(samples), split.key, options.keep_samples);
  }

  void work() {
    for (;;) {
      std::size_t b = 0;
      {
        std::unique_lock<std::mutex> lock(mutex);
        const std::size_t capacity = static_cast<std::size_t>(std::max(1, options.workers * options.prefetch));
        changed.wait(lock, [&] { return stop || next_assign >= num_batches || next_assign < consumed + capacity; });
        if (stop || next_assign >= num_batches) return;
        b = next_assign++;
      }
      std::pair<Batch, std::exception_ptr> result;
      try {
        result.first = make_batch(b);
      } catch (...) {
        result.second = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex);
      ready.emplace(b, std::move(result));
      changed.notify_all();
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    changed.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
    stop = false;
    ready.clear();
  }
};

DataLoader::DataLoader(DataSplit split, LoaderOptions options) : state_(std::make_unique<State>()) {
  if (options.batch_size < 1) throw Error("batch size must be at least 1, got " + std::to_string(options.batch_size));
  if (options.shard_count < 1 || options.shard_rank < 0 || options.shard_rank >= options.shard_count)
    throw Error("data shard " + std::to_string(options.shard_rank) + " of " + std::to_string(options.shard_count) +
                " does not exist");
  if (options.workers < 0) throw Error("workers must be 0 or more, got " + std::to_string(options.workers));
  if (split.dataset->size() == 0) throw Error(split.key + ": the split has no samples");
  state_->split = std::move(split);
  state_->options = options;
  // OpenCV's own threads would compete with the loader's workers and LibTorch's.
  if (options.workers > 0) cv::setNumThreads(1);
}

DataLoader::~DataLoader() { state_->stop_workers(); }

std::vector<std::size_t> DataLoader::epoch_order(std::int64_t epoch) const {
  std::vector<std::size_t> order(state_->split.dataset->size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (state_->options.shuffle) {
    std::seed_seq sequence{static_cast<std::uint32_t>(state_->options.seed),
                           static_cast<std::uint32_t>(state_->options.seed >> 32), static_cast<std::uint32_t>(epoch), 0x5eedu};
    std::mt19937_64 rng(sequence);
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[draw_below(rng, i)]);
  }
  return order;
}

std::vector<std::size_t> DataLoader::shard_order(std::int64_t epoch) const {
  std::vector<std::size_t> order = epoch_order(epoch);
  const LoaderOptions& o = state_->options;
  if (o.shard_count == 1) return order;
  const auto ranks = static_cast<std::size_t>(o.shard_count), rank = static_cast<std::size_t>(o.shard_rank);
  std::vector<std::size_t> mine;
  if (o.drop_last) {
    const auto size = static_cast<std::size_t>(o.batch_size), global = size * ranks;
    for (std::size_t start = 0; start + global <= order.size(); start += global)
      mine.insert(mine.end(), order.begin() + static_cast<std::ptrdiff_t>(start + rank * size),
                  order.begin() + static_cast<std::ptrdiff_t>(start + (rank + 1) * size));
  } else {
    for (std::size_t i = rank; i < order.size(); i += ranks) mine.push_back(order[i]);
  }
  return mine;
}

std::size_t DataLoader::batches_per_epoch() const {
  const LoaderOptions& o = state_->options;
  const auto size = static_cast<std::size_t>(o.batch_size), ranks = static_cast<std::size_t>(o.shard_count);
  const std::size_t n = state_->split.dataset->size();
  if (o.drop_last) return n / (size * ranks);
  const std::size_t share = (n + ranks - 1 - static_cast<std::size_t>(o.shard_rank)) / ranks;
  return (share + size - 1) / size;
}

void DataLoader::start_epoch(std::int64_t epoch, std::size_t first_batch) {
  State& s = *state_;
  s.stop_workers();
  s.epoch = epoch;
  s.order = shard_order(epoch);
  s.num_batches = batches_per_epoch();
  s.consumed = std::min(first_batch, s.num_batches);
  s.next_assign = s.consumed;
  for (int i = 0; i < s.options.workers; ++i) s.workers.emplace_back([&s] { s.work(); });
}

std::optional<Batch> DataLoader::next() {
  State& s = *state_;
  for (;;) {
    if (s.consumed >= s.num_batches) return std::nullopt;
    std::pair<Batch, std::exception_ptr> result;
    if (s.options.workers == 0) {
      result.first = s.make_batch(s.consumed++);
    } else {
      std::unique_lock<std::mutex> lock(s.mutex);
      s.changed.wait(lock, [&] { return s.ready.count(s.consumed) > 0; });
      auto node = s.ready.extract(s.consumed);
      result = std::move(node.mapped());
      ++s.consumed;
      s.changed.notify_all();
    }
    if (result.second) std::rethrow_exception(result.second);
    if (!result.first.ids.empty()) return std::move(result.first);
  }
}

std::size_t DataLoader::skipped_samples() const { return state_->skipped; }

const DataSplit& DataLoader::split() const { return state_->split; }

}  // namespace segdistill

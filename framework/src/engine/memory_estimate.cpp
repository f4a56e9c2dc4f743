#include "engine/memory_estimate.hpp"

#include <fstream>
#include <sstream>

#include "engine/run.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/data/sections.hpp"
#include "segdistill/modeling/cost.hpp"

namespace segdistill {

namespace {

// The integers of a TOML array's text ("[512, 1024]").
std::vector<std::int64_t> integers_of(const std::string& text) {
  std::vector<std::int64_t> out;
  std::int64_t value = 0;
  bool in_number = false;
  for (const char c : text) {
    if (c >= '0' && c <= '9') {
      value = std::min<std::int64_t>(value * 10 + (c - '0'), std::int64_t{1} << 40);
      in_number = true;
    } else if (in_number) {
      out.push_back(value);
      value = 0;
      in_number = false;
    }
  }
  if (in_number) out.push_back(value);
  return out;
}

// Refused above this multiple of the machine's memory; warned above 1.
constexpr double kCertainlyTooMuch = 1.5;

double gib(double bytes) { return bytes / double(1 << 30); }

std::string gib_text(double bytes) {
  std::ostringstream out;
  out.precision(bytes >= 10.0 * double(1 << 30) ? 0 : 1);
  out << std::fixed << gib(bytes) << " GiB";
  return out.str();
}

}  // namespace

std::optional<std::pair<std::int64_t, std::int64_t>> configured_train_size(const Config& config) {
  if (!config.root().contains("data") || !config.root().table("data").contains("train")) return std::nullopt;
  const ConfigTable train = config.root().table("data").table("train");
  if (train.type_of("pipeline") != "array") return std::nullopt;
  std::optional<std::pair<std::int64_t, std::int64_t>> size;
  for (const auto& step : train.tables("pipeline"))
    for (const char* key : {"crop_size", "size"}) {
      if (step.type_of(key) != "array") continue;
      const auto values = integers_of(step.to_toml(key));
      if (values.size() == 1) size = std::make_pair(values[0], values[0]);
      if (values.size() == 2) size = std::make_pair(values[0], values[1]);
    }
  return size;
}

std::uint64_t machine_memory_bytes() {
  std::uint64_t total = 0;
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    std::uint64_t kib = 0;
    meminfo >> kib;
    if (key == "MemTotal:") total = kib * 1024;
    meminfo.ignore(64, '\n');
  }
  std::ifstream cgroup("/sys/fs/cgroup/memory.max");
  std::string limit;
  if (cgroup >> limit && limit != "max") {
    const auto values = integers_of(limit);
    if (!values.empty() && values[0] > 0 && (total == 0 || static_cast<std::uint64_t>(values[0]) < total))
      total = static_cast<std::uint64_t>(values[0]);
  }
  return total;
}

void check_training_memory(Run& run) {
  if (!run.device.is_cpu()) return;
  const auto size = configured_train_size(run.config);
  const std::uint64_t machine = machine_memory_bytes();
  if (!size || machine == 0) return;
  const auto [height, width] = *size;
  // Activations per pixel from one small forward pass, scaled to the crop: every layer's
  // output grows with the image area.
  constexpr std::int64_t kProbe = 65;
  NetworkCost cost;
  try {
    cost = measure_cost(*run.student, kProbe, kProbe, 0);
  } catch (const Error& e) {
    logger()->debug("memory estimate skipped: {}", e.what());
    return;
  }
  const double per_pixel = double(cost.activation_bytes) / double(kProbe * kProbe);
  const double reduced = run.precision == Precision::kFp32 ? 1.0 : 0.5;
  const double batch = double(run.train.batch_size / std::max<std::int64_t>(run.world_size, 1));
  const double pixels = double(height) * double(width);
  const double activations = per_pixel * pixels * batch * reduced;
  // Weights, gradients, momentum and the copy an optimizer step makes; the teacher's weights.
  double weights = 4.0 * double(cost.parameters) * 4;
  if (run.teacher)
    for (const auto& p : run.teacher->parameters()) weights += double(p.numel()) * double(p.element_size());
  // The batch being trained and the loader's next ones (images and labels).
  const double inputs = 3.0 * batch * pixels * (3 * 4 + 1);
  const double total = activations + weights + inputs;
  logger()->info(
      "memory estimate: about {} at batch {} x {}x{} (activations {}, weights and optimizer state {}); the machine "
      "has {}",
      gib_text(total), batch, height, width, gib_text(activations), gib_text(weights), gib_text(double(machine)));
  // The estimate was measured within -25% and +40% of real peaks (README): only what
  // exceeds the machine by more than that margin certainly cannot run.
  const std::string needs = "this run needs about " + gib_text(total) + " of memory (the student's activations at " +
                            std::to_string(static_cast<std::int64_t>(batch)) + " x " + std::to_string(height) + "x" +
                            std::to_string(width) + " pixels: " + gib_text(activations) +
                            "; weights and optimizer state: " + gib_text(weights) + ")";
  if (total > kCertainlyTooMuch * double(machine))
    throw Error(run.config.path() + ": " + needs + ", over 1.5 times this machine's " + gib_text(double(machine)) +
                ": it cannot run here; lower train.batch_size or the crop size in data.train.pipeline");
  if (total > double(machine))
    logger()->warn("{} by the estimate, more than this machine's {}: it may run out of memory", needs, gib_text(double(machine)));
}

}  // namespace segdistill

// Where the time of segdistill's training step goes, phase by phase. Runs the library's
// train() on a config, as `segdistill train` does, with a RecordFunction observer: each
// operator counts for the step phase that ran it (the engine's "segdistill::<phase>"
// scopes, engine/step.cpp), and each backward node for the phase whose forward pass made
// it (matched through its autograd sequence number).
//   bench_step_profile CONFIG --work-dir DIR [--set KEY=VALUE]... [--threads N] [--warmup W] [--top K] [--shapes OP]
// Prints markdown: the phases in ms per step (mean over the iterations after the W
// warm-up ones and before the last, whose hooks validate and save a checkpoint),
// memory-format and dtype conversions apart, then each phase's operators by self time.
// Used by step_profile.sh.
#include <ATen/SequenceNumber.h>
#include <ATen/record_function.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "segdistill/config/config.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/core/threads.hpp"
#include "segdistill/engine/trainer.hpp"
#include "segdistill/plugin/loader.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kScopePrefix = "segdistill::";
constexpr const char* kIteration = "segdistill::iteration";

struct Frame {
  int phase;
  Clock::time_point start;
  double child_us = 0;
  bool starts_phase;  // a phase scope or a backward node: its time is its phase's, not its parent's
  bool is_operator;   // an operator or backward node (not a scope): has a self time
  const char* name;
};

struct OperatorTime {
  double self_us = 0;
  std::int64_t calls = 0;
};

// What the observer gathers. RecordFunction callbacks are plain function pointers, so it
// is one object here; only the thread that runs train() is observed (the loader's worker
// threads run beside the step, their effect on it is the loader_wait phase).
struct Profile {
  std::thread::id observed;
  int warmup = 2;
  int iteration = 0;  // 1-based, counted at each iteration scope
  const char* shapes_of = nullptr;
  std::vector<std::string> phases;
  std::unordered_map<std::string, int> index;
  std::vector<bool> is_backward;
  // Autograd sequence number at which a forward phase began or resumed -> that phase: a
  // node belongs to the phase whose range holds its number (a custom autograd function's
  // node is numbered outside any operator, so operators' numbers could not tell).
  std::map<std::int64_t, int> forward_phase;
  std::vector<Frame> stack;
  // Each iteration's times are kept apart until the next one starts: the last one, whose
  // hooks run the final validation and save a checkpoint, is left out.
  struct Times {
    std::vector<double> phase_us;                             // exclusive of nested phases
    std::map<std::pair<int, std::string>, OperatorTime> ops;  // (phase, operator) -> self time
    std::vector<double> iteration_us;
  };
  Times total, current;

  int phase(const std::string& name) {
    auto [it, added] = index.emplace(name, static_cast<int>(phases.size()));
    if (added) {
      phases.push_back(name);
      is_backward.push_back(name.rfind("backward of ", 0) == 0);
      total.phase_us.push_back(0);
      current.phase_us.push_back(0);
    }
    return it->second;
  }
  bool measuring() const { return iteration > warmup; }
  void start_iteration() {
    ++iteration;
    forward_phase.clear();  // an iteration's backward never reaches the previous one's graph
    for (std::size_t i = 0; i < current.phase_us.size(); ++i) total.phase_us[i] += current.phase_us[i];
    for (const auto& [key, op] : current.ops) {
      total.ops[key].self_us += op.self_us;
      total.ops[key].calls += op.calls;
    }
    total.iteration_us.insert(total.iteration_us.end(), current.iteration_us.begin(), current.iteration_us.end());
    current = Times{std::vector<double>(phases.size(), 0), {}, {}};
  }
  void forward_phase_from_here(int phase) {
    if (!is_backward[static_cast<std::size_t>(phase)])
      forward_phase[static_cast<std::int64_t>(at::sequence_number::peek())] = phase;
  }
  int phase_of_node(std::int64_t sequence_nr) const {
    auto it = forward_phase.upper_bound(sequence_nr);
    return it == forward_phase.begin() ? -1 : std::prev(it)->second;
  }
};
Profile profile;

// Copies between memory formats and dtypes: what autocast's casts, the features' fp32
// copies and channels-last conversions cost, apart from the arithmetic.
bool is_conversion(const std::string& name) {
  static const std::unordered_set<std::string> names{
      "aten::copy_",      "aten::_to_copy", "aten::to_mkldnn",  "aten::to_dense",  "aten::clone",
      "aten::contiguous", "aten::to",       "aten::_copy_from", "aten::_to_dense", "aten::mkldnn_reorder_conv2d_weight"};
  return names.count(name) != 0;
}

// --shapes OP: each call of OP in the first measured iteration, with its tensor inputs.
void print_inputs(const at::RecordFunction& fn, const std::string& phase) {
  std::ostringstream line;
  line << "shapes: " << phase << ": " << fn.name();
  for (const auto& input : fn.inputs())
    if (input.isTensor()) {
      const at::Tensor& t = input.toTensor();
      line << " " << t.scalar_type() << t.sizes()
           << (t.is_contiguous()                                 ? ""
               : t.is_contiguous(at::MemoryFormat::ChannelsLast) ? "CL"
                                                                 : "strided");
    }
  std::cerr << line.str() << "\n";
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  if (std::this_thread::get_id() != profile.observed) return nullptr;
  const char* name = fn.name();
  const int parent = profile.stack.empty() ? profile.phase("(between phases)") : profile.stack.back().phase;
  Frame frame{parent, Clock::now(), 0, false, false, name};
  if (fn.scope() == at::RecordScope::USER_SCOPE) {
    if (!std::strcmp(name, kIteration)) {
      profile.start_iteration();
      frame.phase = profile.phase("(iteration, between phases)");
      frame.starts_phase = true;
    } else if (!std::strncmp(name, kScopePrefix, std::strlen(kScopePrefix))) {
      frame.phase = profile.phase(name + std::strlen(kScopePrefix));
      frame.starts_phase = true;
      profile.forward_phase_from_here(frame.phase);
    }
  } else if (fn.scope() == at::RecordScope::BACKWARD_FUNCTION) {
    const int forward = profile.phase_of_node(fn.seqNr());
    frame.phase = profile.phase(
        "backward of " + (forward < 0 ? std::string("(unmatched nodes)") : profile.phases[static_cast<std::size_t>(forward)]));
    frame.starts_phase = frame.phase != parent;
    frame.is_operator = true;
  } else {
    frame.is_operator = true;
    if (profile.shapes_of != nullptr && profile.iteration == profile.warmup + 1 && !std::strcmp(name, profile.shapes_of))
      print_inputs(fn, profile.phases[static_cast<std::size_t>(parent)]);
  }
  profile.stack.push_back(frame);
  return nullptr;
}

void on_end(const at::RecordFunction&, at::ObserverContext*) {
  if (std::this_thread::get_id() != profile.observed || profile.stack.empty()) return;
  const Frame frame = profile.stack.back();
  profile.stack.pop_back();
  const double us = std::chrono::duration<double, std::micro>(Clock::now() - frame.start).count();
  const bool is_iteration = !std::strcmp(frame.name, kIteration);
  if (!profile.stack.empty()) {
    profile.stack.back().child_us += us;
    if (frame.starts_phase) profile.forward_phase_from_here(profile.stack.back().phase);
  }
  if (!profile.measuring()) return;
  auto& times = profile.current;
  if (is_iteration) times.iteration_us.push_back(us);
  if (frame.starts_phase) {
    times.phase_us[static_cast<std::size_t>(frame.phase)] += us;
    if (!profile.stack.empty()) times.phase_us[static_cast<std::size_t>(profile.stack.back().phase)] -= us;
  }
  if (frame.is_operator) {
    auto& op = times.ops[{frame.phase, frame.name}];
    op.self_us += us - frame.child_us;
    op.calls += 1;
  }
}

void print_tables(int top) {
  const Profile::Times& t = profile.total;
  const double steps = static_cast<double>(t.iteration_us.size());
  if (steps == 0) {
    std::cerr << "bench_step_profile: no iteration after the warm-up and before the last was measured (raise train.iterations)\n";
    std::exit(2);
  }
  double step_us = 0;
  for (double us : t.iteration_us) step_us += us;
  std::vector<double> conversion_us(profile.phases.size(), 0);
  for (const auto& [key, op] : t.ops)
    if (is_conversion(key.second)) conversion_us[static_cast<std::size_t>(key.first)] += op.self_us;
  std::vector<int> order;
  for (int p = 0; p < static_cast<int>(profile.phases.size()); ++p)
    if (t.phase_us[static_cast<std::size_t>(p)] > 0) order.push_back(p);
  std::sort(order.begin(), order.end(),
            [&t](int a, int b) { return t.phase_us[static_cast<std::size_t>(a)] > t.phase_us[static_cast<std::size_t>(b)]; });
  std::printf("step: %.0f ms (mean of %.0f iterations after %d warm-up)\n\n", step_us / steps / 1000, steps, profile.warmup);
  std::printf("| phase | ms/step | share | conversions ms/step |\n|---|---|---|---|\n");
  double conversions = 0;
  for (int p : order) {
    const auto i = static_cast<std::size_t>(p);
    conversions += conversion_us[i];
    std::printf("| %s | %.0f | %.1f%% | %.0f |\n", profile.phases[i].c_str(), t.phase_us[i] / steps / 1000,
                100 * t.phase_us[i] / step_us, conversion_us[i] / steps / 1000);
  }
  std::printf("| **step** | **%.0f** | 100%% | **%.0f** |\n\n", step_us / steps / 1000, conversions / steps / 1000);
  std::printf("| phase | operator (self time) | calls/step | ms/step |\n|---|---|---|---|\n");
  for (int p : order) {
    if (t.phase_us[static_cast<std::size_t>(p)] < 0.01 * step_us) continue;
    std::vector<std::pair<std::string, OperatorTime>> ops;
    for (const auto& [key, op] : t.ops)
      if (key.first == p) ops.emplace_back(key.second, op);
    std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second.self_us > b.second.self_us; });
    for (std::size_t i = 0; i < ops.size() && static_cast<int>(i) < top; ++i)
      std::printf("| %s | %s | %.0f | %.1f |\n", profile.phases[static_cast<std::size_t>(p)].c_str(), ops[i].first.c_str(),
                  static_cast<double>(ops[i].second.calls) / steps, ops[i].second.self_us / steps / 1000);
  }
}

const char* kUsage =
    "usage: bench_step_profile CONFIG --work-dir DIR [--set KEY=VALUE]... [--threads N] [--warmup W] [--top K] [--shapes OP]\n"
    "  Trains CONFIG (train.iterations of them) with every operator timed and attributed to the step phase that ran it;\n"
    "  prints the phases in ms per step over the iterations after the first W (default 2) and before the last (it validates\n"
    "  and saves a checkpoint), then each phase's K (default 8) most expensive operators by self time. DIR must not hold\n"
    "  a previous run. --shapes OP: also lists each call of operator OP (aten::copy_, ...) in the first measured\n"
    "  iteration with its tensor inputs (stderr), to see what a conversion converts.\n";

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, work_dir;
  std::vector<std::string> overrides;
  int threads = 2, top = 8;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--set" && has_value) {
      overrides.emplace_back(argv[++i]);
    } else if (arg == "--work-dir" && has_value) {
      work_dir = argv[++i];
    } else if (arg == "--threads" && has_value) {
      threads = std::atoi(argv[++i]);
    } else if (arg == "--warmup" && has_value) {
      profile.warmup = std::atoi(argv[++i]);
    } else if (arg == "--shapes" && has_value) {
      profile.shapes_of = argv[++i];
    } else if (arg == "--top" && has_value) {
      top = std::atoi(argv[++i]);
    } else if (config_path.empty() && arg.rfind("--", 0) != 0) {
      config_path = arg;
    } else {
      std::cerr << "bench_step_profile: unexpected argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  if (config_path.empty() || work_dir.empty() || threads < 1 || profile.warmup < 0) {
    std::cerr << kUsage;
    return 2;
  }
  try {
    segdistill::set_log_level("warn");
    segdistill::configure_cpu_math(threads);  // as the segdistill command does
    segdistill::PluginLoader::instance().load_directory(SEGDISTILL_BUILD_PLUGIN_DIR_FOR_BENCH);
    const auto config = segdistill::Config::load(config_path, overrides);
    segdistill::TrainOptions options;
    options.work_dir = work_dir;
    options.progress = false;
    profile.observed = std::this_thread::get_id();
    const auto handle = at::addGlobalCallback(
        at::RecordFunctionCallback(on_start, on_end)
            .needsInputs(profile.shapes_of != nullptr)
            .scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION, at::RecordScope::USER_SCOPE}));
    segdistill::train(config, options);
    at::removeCallback(handle);
  } catch (const std::exception& e) {
    std::cerr << "bench_step_profile: " << e.what() << "\n";
    return 1;
  }
  print_tables(top);
  return 0;
}

// Forward + backward time and peak memory of the TaT loss (patch-group + anchor-point,
// shared embeddings) at the published VOC ResNet-18 shapes: batch 4, student and teacher
// features 256 x 129 x 129, patches 16 x 16, 64 heads, anchors 32 x 32.
//   bench_tat_loss [--threads N] [--repeats R]     (used by tat_loss.sh)
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <ATen/Context.h>
#include <torch/torch.h>

#include "segdistill/config/config.hpp"
#include "segdistill/core/threads.hpp"
#include "segdistill/distill/distiller.hpp"
#include "segdistill/plugin/loader.hpp"
#include "segdistill/plugin/registries.hpp"

int main(int argc, char** argv) {
  int threads = 2, repeats = 5, flush = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--repeats")) repeats = std::max(1, std::atoi(argv[i + 1]));
    if (!std::strcmp(argv[i], "--flush-denormal")) flush = std::atoi(argv[i + 1]);
  }
  if (flush)
    segdistill::configure_cpu_math(threads);  // as the segdistill command does
  else
    at::set_num_threads(threads);
  torch::manual_seed(0);
  segdistill::PluginLoader::instance().load_directory(SEGDISTILL_BUILD_PLUGIN_DIR_FOR_BENCH);
  segdistill::SharedModules shared;
  segdistill::DistillerContext context{"bench", {{"s", 256, 4}}, {{"t", 256, 4}}, 21, &shared};
  const auto config = segdistill::Config::parse(
      "pg = {type = \"tat_patch_group\", patches = [16, 16], heads = 64}\nap = {type = \"tat_anchor_point\", anchors = [32, "
      "32]}\n",
      "bench");
  auto pg = segdistill::distillers().create(config.root().table("pg"), context);
  auto ap = segdistill::distillers().create(config.root().table("ap"), context);
  pg->train();
  ap->train();
  const auto fs = torch::randn({4, 256, 129, 129}).requires_grad_();
  const auto ft = torch::randn({4, 256, 129, 129});
  std::vector<double> times;
  double loss = 0;
  const auto step = [&] {
    fs.mutable_grad() = at::Tensor();
    const auto total = pg->distill({fs}, {ft}).at("tat_patch_group") * 1.0 + ap->distill({fs}, {ft}).at("tat_anchor_point") * 0.4;
    total.backward();
    return total.item<double>();
  };
  if (const char* trace = std::getenv("TAT_TRACE")) {
    // One profiled run (chrome trace) after warming up, to see where the time goes.
    step();
    step();
    torch::autograd::profiler::RecordProfile guard(trace);
    step();
  }
  for (int r = 0; r <= repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    loss = step();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (r > 0) times.push_back(ms);  // the first run warms up
  }
  std::sort(times.begin(), times.end());
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("segdistill median_ms=%.1f peak_rss_mb=%.0f loss=%.6f\n", times[times.size() / 2], usage.ru_maxrss / 1024.0, loss);
  return 0;
}

// Images/s of the data loader on a configured split: one pass over `--images` samples
// with each worker count given. Used by loader_throughput.sh.
//   bench_loader_throughput CONFIG --images N --batch B --workers 1,2
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <ATen/Parallel.h>

#include "segdistill/config/config.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/data/loader.hpp"
#include "segdistill/plugin/loader.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CONFIG [--batch B] [--workers 1,2] [--epochs E]\n", argv[0]);
    return 2;
  }
  std::string config_path = argv[1];
  std::int64_t batch = 4;
  int epochs = 1;
  std::vector<int> worker_counts{1, 2};
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--batch"))
      batch = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--epochs"))
      epochs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--workers")) {
      worker_counts.clear();
      for (char* p = std::strtok(argv[i + 1], ","); p; p = std::strtok(nullptr, ",")) worker_counts.push_back(std::atoi(p));
    }
  }
  try {
    at::set_num_threads(1);
    segdistill::PluginLoader::instance().load_directory(SEGDISTILL_BUILD_PLUGIN_DIR_FOR_BENCH);
    const auto config = segdistill::Config::load(config_path);
    for (int workers : worker_counts) {
      segdistill::DataLoader loader(segdistill::build_split(config, "train"),
                                    segdistill::LoaderOptions{batch, workers, 2, true, true, 0, false});
      std::size_t images = 0;
      const auto start = std::chrono::steady_clock::now();
      for (int e = 0; e < epochs; ++e) {
        loader.start_epoch(e);
        while (auto b = loader.next()) images += b->ids.size();
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("workers=%d images=%zu seconds=%.3f images_per_second=%.2f\n", workers, images, seconds, images / seconds);
    }
  } catch (const segdistill::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}

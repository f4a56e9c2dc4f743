// Writes a checkpoint of a config's [model] with its initial (random) weights, for
// benchmarks that time a network without training it.
//   bench_random_checkpoint CONFIG OUTPUT
#include <cstdio>

#include <torch/torch.h>

#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/modeling/segmentor.hpp"
#include "segdistill/plugin/loader.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s CONFIG OUTPUT\n", argv[0]);
    return 2;
  }
  try {
    torch::manual_seed(0);
    segdistill::PluginLoader::instance().load_directory(SEGDISTILL_BUILD_PLUGIN_DIR_FOR_BENCH);
    const auto config = segdistill::Config::load(argv[1]);
    auto model = std::make_shared<segdistill::Segmentor>(config.root().table("model"));
    segdistill::Checkpoint checkpoint;
    checkpoint.groups["model"] = segdistill::state_dict(*model);
    segdistill::save_checkpoint(checkpoint, argv[2]);
  } catch (const segdistill::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}

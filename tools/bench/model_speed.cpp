// Forward and forward+backward time of the published DeepLabV3+ networks at batch 2,
// 513x513, 21 classes, on the CPU with the thread count given by --threads (default 2).
// Run: build/bin/bench_model_speed [--threads N] [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstring>

#include "segdistill/config/config.hpp"
#include "segdistill/modeling/segmentor.hpp"
#include "segdistill/plugin/loader.hpp"

namespace {

std::shared_ptr<segdistill::Segmentor> make(const std::string& backbone) {
  const auto config = segdistill::Config::parse("[model]\nnum_classes = 21\nbackbone = {type = \"" + backbone +
                                                    "\", output_stride = 16}\nhead = {type = \"deeplabv3plus\"}\n",
                                                "bench.toml");
  return std::make_shared<segdistill::Segmentor>(config.root().table("model"));
}

void forward(benchmark::State& state, const std::string& backbone) {
  auto model = make(backbone);
  model->eval();
  torch::NoGradGuard no_grad;
  const auto images = torch::randn({2, 3, 513, 513});
  for (auto _ : state) benchmark::DoNotOptimize(model->forward(images).logits);
}

void forward_backward(benchmark::State& state, const std::string& backbone) {
  auto model = make(backbone);
  model->train();
  const auto images = torch::randn({2, 3, 513, 513});
  const auto labels = torch::randint(0, 21, {2, 513, 513}, torch::kLong);
  for (auto _ : state) {
    model->zero_grad();
    auto loss = torch::nn::functional::cross_entropy(model->forward(images).logits, labels);
    loss.backward();
    benchmark::DoNotOptimize(loss);
  }
}

}  // namespace

BENCHMARK_CAPTURE(forward, resnet18, std::string("resnet18"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true)
    ->UseRealTime();
BENCHMARK_CAPTURE(forward_backward, resnet18, std::string("resnet18"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true)
    ->UseRealTime();
BENCHMARK_CAPTURE(forward, mobilenetv2, std::string("mobilenetv2"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true)
    ->UseRealTime();
BENCHMARK_CAPTURE(forward_backward, mobilenetv2, std::string("mobilenetv2"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true)
    ->UseRealTime();
BENCHMARK_CAPTURE(forward, resnet101, std::string("resnet101"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true)
    ->UseRealTime();
BENCHMARK_CAPTURE(forward_backward, resnet101, std::string("resnet101"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true)
    ->UseRealTime();

int main(int argc, char** argv) {
  int threads = 2;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else
      rest.push_back(argv[i]);
  }
  at::set_num_threads(threads);
  segdistill::PluginLoader::instance().load_directory(SEGDISTILL_BUILD_PLUGIN_DIR_FOR_BENCH);
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  benchmark::AddCustomContext("torch_threads", std::to_string(threads));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

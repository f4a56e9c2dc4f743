// segdistill make-toy-dataset --output DIR [--seed N] [--train N --val M --size S]
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "command.hpp"
#include "segdistill/progress.hpp"
#include "toy_dataset.hpp"

namespace segdistill::cli {

Runner attach_make_toy_dataset(CLI::App& app) {
  auto options = std::make_shared<toy::ToyOptions>();
  app.add_option("--output", options->output, "folder to write (a VOC2012-like tree)")->required();
  app.add_option("--seed", options->seed, "random seed; the same seed gives the same files")->capture_default_str();
  app.add_option("--train", options->train, "training images")->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--val", options->val, "validation images")->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--size", options->size, "image side in pixels")->capture_default_str()->check(CLI::Range(32, 2048));
  return [options](const GlobalOptions&) {
    ProgressBar bar("toy data set", options->train + options->val);
    toy::write_toy_dataset(*options, [&](int done, int) { bar.update(done); });
    bar.finish();
    std::cout << "wrote " << options->train << " training and " << options->val << " validation images ("
              << options->size << "x" << options->size << ", classes: ";
    const auto& names = toy::toy_class_names();
    for (std::size_t i = 0; i < names.size(); ++i) std::cout << (i ? ", " : "") << names[i];
    std::cout << ") to " << options->output << "\n";
    return 0;
  };
}

}  // namespace segdistill::cli

// segdistill make-toy-dataset --output DIR [--seed N] [--train N --val M --size S] [--variant V]
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "command.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/progress.hpp"
#include "toy_dataset.hpp"

namespace segdistill::cli {

Runner attach_make_toy_dataset(CLI::App& app) {
  auto options = std::make_shared<toy::ToyOptions>();
  app.add_option("--output", options->output, "folder to write (a VOC2012-like tree)")->required();
  app.add_option("--seed", options->seed, "random seed; the same seed gives the same files")->capture_default_str();
  app.add_option("--train", options->train, "training images")->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--val", options->val, "validation images")->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--variant", options->variant,
                 "scenes: shapes (6 classes, large shapes) or textured-shapes (11 classes: shape AND texture, small "
                 "overlapping objects, textured clutter; the demo's task)")
      ->capture_default_str()
      ->check(CLI::IsMember(toy::toy_variants()));
  auto size = std::make_shared<std::string>("128");
  app.add_option("--size", *size, "image size: S (square) or WxH, for example 500x375")->capture_default_str();
  return [options, size](const GlobalOptions&) {
    const auto x = size->find('x');
    try {
      options->width = std::stoi(size->substr(0, x));
      options->height = x == std::string::npos ? options->width : std::stoi(size->substr(x + 1));
    } catch (const std::exception&) {
      throw Error("--size: expected S or WxH (for example 128 or 500x375), got '" + *size + "'");
    }
    ProgressBar bar("toy data set", options->train + options->val);
    toy::write_toy_dataset(*options, [&](int done, int) { bar.update(done); });
    bar.finish();
    std::cout << "wrote " << options->train << " training and " << options->val << " validation images (" << options->width << "x"
              << options->height << ", classes: ";
    const auto& names = toy::toy_class_names(options->variant);
    for (std::size_t i = 0; i < names.size(); ++i) std::cout << (i ? ", " : "") << names[i];
    std::cout << ") to " << options->output << "\n";
    return 0;
  };
}

}  // namespace segdistill::cli

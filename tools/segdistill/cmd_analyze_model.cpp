// segdistill analyze-model CONFIG [--input HxW] [--depth N] [--json] [--set k=v]...
#include <cstdio>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "plugin_setup.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/modeling/cost.hpp"

namespace segdistill::cli {

namespace {

struct AnalyzeArgs {
  std::string config, input = "512x512";
  std::vector<std::string> overrides;
  int depth = 2;
  bool json = false;
};

std::pair<std::int64_t, std::int64_t> parse_size(const std::string& text) {
  const auto x = text.find('x');
  try {
    std::size_t used = 0;
    if (x == std::string::npos) {
      const std::int64_t side = std::stoll(text, &used);
      if (used == text.size()) return {side, side};
    } else {
      const std::int64_t h = std::stoll(text.substr(0, x), &used);
      if (used == x) {
        const std::int64_t w = std::stoll(text.substr(x + 1), &used);
        if (used == text.size() - x - 1) return {h, w};
      }
    }
  } catch (const std::exception&) {
  }
  throw Error("--input " + text + ": expected HxW (for example 512x1024) or one side S");
}

// 1234567 -> "1.23 M"; keeps tables readable from tiny toy networks to ResNet-101.
std::string human(double value) {
  const char* units[] = {"", " K", " M", " G", " T"};
  int unit = 0;
  while (value >= 1000 && unit < 4) value /= 1000, ++unit;
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f%s" : "%.2f%s", value, units[unit]);
  return text;
}

std::string table(const std::string& title, const NetworkCost& cost) {
  std::string out = title + "\n";
  char line[256];
  std::snprintf(line, sizeof line, "  %-40s %12s %12s %8s\n", "module", "parameters", "mult-adds", "share");
  out += line;
  for (const auto& row : cost.modules) {
    const std::string name = row.name.empty() ? "(network)" : std::string(2 * (row.depth - 1), ' ') + row.name;
    const double share =
        cost.multiply_adds > 0 ? 100.0 * static_cast<double>(row.multiply_adds) / static_cast<double>(cost.multiply_adds) : 0;
    std::snprintf(line, sizeof line, "  %-40s %12s %12s %7.1f%%\n", name.c_str(),
                  human(static_cast<double>(row.parameters)).c_str(), human(static_cast<double>(row.multiply_adds)).c_str(),
                  share);
    out += line;
  }
  if (cost.unattributed_multiply_adds > 0)
    out += "  matrix products outside any module's weight: " + human(static_cast<double>(cost.unattributed_multiply_adds)) + "\n";
  return out;
}

nlohmann::json to_json(const NetworkCost& cost) {
  nlohmann::json modules = nlohmann::json::array();
  for (const auto& row : cost.modules)
    modules.push_back({{"module", row.name}, {"parameters", row.parameters}, {"multiply_adds", row.multiply_adds}});
  return {{"parameters", cost.parameters},
          {"multiply_adds", cost.multiply_adds},
          {"unattributed_multiply_adds", cost.unattributed_multiply_adds},
          {"modules", modules}};
}

int run_analyze(const GlobalOptions& globals, const AnalyzeArgs& args) {
  const auto [height, width] = parse_size(args.input);
  const Config config = Config::load(args.config, args.overrides);
  load_plugins(globals, &config);
  std::vector<std::string> sections{"model"};
  if (config.root().contains("teacher")) sections.push_back("teacher");
  nlohmann::json report = {{"config", args.config}, {"input", {height, width}}};
  std::string text;
  for (const auto& section : sections) {
    auto network = build_network(config, section);
    const NetworkCost cost = measure_cost(*network, height, width, args.depth);
    report[section] = to_json(cost);
    text +=
        table("[" + section + "] at " + std::to_string(height) + "x" + std::to_string(width) + ": " +
                  human(static_cast<double>(cost.parameters)) + " parameters, " + human(static_cast<double>(cost.multiply_adds)) +
                  " multiply-adds (" + human(2.0 * static_cast<double>(cost.multiply_adds)) + "FLOPs)",
              cost) +
        "\n";
  }
  if (args.json) {
    std::cout << report.dump(2) << "\n";
  } else {
    std::cout << text
              << "Multiply-adds: convolutions, linear layers and matrix products of one image; normalisation, "
                 "activations, pooling and interpolation are not counted (as mmseg get_flops and fvcore).\n";
  }
  return 0;
}

}  // namespace

Runner attach_analyze_model(CLI::App& app) {
  auto args = std::make_shared<AnalyzeArgs>();
  app.add_option("CONFIG", args->config, "TOML config ([model], and [teacher] if present)")->required()->check(CLI::ExistingFile);
  app.add_option("--input", args->input, "input size HxW (or S for SxS) of the one image measured")->capture_default_str();
  app.add_option("--depth", args->depth, "module levels listed (1: backbone and head parts)")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  app.add_flag("--json", args->json, "print the whole report as JSON instead of tables");
  app.add_option("--set", args->overrides, "override a config key (repeatable)")->type_name("KEY=VALUE");
  return [args](const GlobalOptions& globals) { return run_analyze(globals, *args); };
}

}  // namespace segdistill::cli

#include "segdistill/modeling/initial_weights.hpp"

#include <filesystem>
#include <unordered_set>

#include <torch/torch.h>

#include "segdistill/checkpoint/network_weights.hpp"
#include "segdistill/checkpoint/pytorch_checkpoint.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/config/sections.hpp"
#include "segdistill/core/check.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/modeling/segmentor.hpp"

namespace segdistill {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string first_names(const std::vector<std::string>& names, std::size_t limit = 8) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += ", ... (" + std::to_string(names.size() - limit) + " more)";
  return out;
}

std::string pretrained_key(const ConfigTable& backbone) {
  return backbone.contains("pretrained") ? backbone.string("pretrained") : std::string();
}

void load_init_from(Segmentor& network, const ModelSection& model) {
  const std::string& path = *model.init_from;
  std::error_code ec;
  require(std::filesystem::exists(path, ec), "model.init_from = '{}': no such file", path);
  const NetworkWeights weights = read_network_weights(path, "model");
  if (!model.init_from_partial) {
    load_state_dict(network, weights.tensors, "model.init_from " + path);
    logger()->info("model.init_from {}: {} tensors ({})", path, weights.tensors.size(), weights.format);
    return;
  }
  const StateDictDiff diff = load_matching(network, weights.tensors);
  const std::size_t loaded = weights.tensors.size() - diff.unexpected.size() - diff.shape_mismatches.size();
  require(loaded > 0,
          "model.init_from {}: no tensor of the file matches the [model] network (init_from_partial loads what matches)\n{}",
          path, diff.report());
  logger()->info("model.init_from {}: {} tensors ({}), init_from_partial", path, loaded, weights.format);
  if (!diff.empty()) logger()->warn("model.init_from {}: what did not match keeps its initialisation:\n{}", path, diff.report());
}

}  // namespace

PretrainedReport load_pretrained_backbone(Backbone& backbone, const std::string& path, const std::string& config_key) {
  PyTorchStateDict file = read_pytorch_state_dict(path);
  const TensorDict own = state_dict(backbone);
  const std::vector<std::string> prefixes = backbone.pretrained_ignored_prefixes();
  const auto ignored = [&](const std::string& key) {
    for (const auto& prefix : prefixes)
      if (key.rfind(prefix, 0) == 0) return true;
    return false;
  };
  PretrainedReport report;
  report.format = file.format;
  std::vector<std::string> foreign, mismatched;
  for (const auto& [key, tensor] : file.tensors) {
    if (ignored(key)) {
      report.ignored.push_back(key);
      continue;
    }
    auto it = own.find(key);
    if (it == own.end()) {
      foreign.push_back(key + " " + shape_text(tensor));
      continue;
    }
    if (!it->second.sizes().equals(tensor.sizes()))
      mismatched.push_back("'" + key + "' has shape " + shape_text(tensor) + " in the file but " + shape_text(it->second) +
                           " in the backbone");
    report.loaded.push_back(key);
  }
  if (!foreign.empty()) {
    std::vector<std::string> own_names;
    for (const auto& entry : own) own_names.push_back(entry.first);
    throw Error(config_key + " = '" + path + "': " + std::to_string(foreign.size()) +
                " tensor(s) of the file have no place in this backbone, so it is a file of another architecture: " +
                first_names(foreign, 5) + "; the backbone's tensors are: " + first_names(own_names, 5));
  }
  // Keys it has no place for say more about the file than shapes do: checked first. (Not
  // require(): its arguments would read mismatched.front() of an empty list.)
  if (!mismatched.empty())
    throw Error(
        config_key + " = '" + path + "': " + mismatched.front() +
        (mismatched.size() > 1 ? " (and " + std::to_string(mismatched.size() - 1) + " more tensors of other shapes)" : ""));
  require(!report.loaded.empty(), "{} = '{}': the file holds no backbone tensor (only {})", config_key, path,
          first_names(report.ignored));

  torch::NoGradGuard no_grad;
  std::unordered_set<const void*> written;
  for (const auto& key : report.loaded) {
    const at::Tensor& target = own.at(key);
    target.copy_(file.tensors.at(key).to(target.dtype()));
    written.insert(target.unsafeGetTensorImpl());
  }
  // A tensor registered under several names (MobileNetV2's low/high-level views) is
  // written through any of them; only counters old files lack are not worth a word.
  for (const auto& [key, tensor] : own)
    if (!written.count(tensor.unsafeGetTensorImpl()) && !ends_with(key, "num_batches_tracked")) report.kept.push_back(key);
  return report;
}

void load_initial_weights(Segmentor& network, const Config& config, const std::string& section) {
  const ConfigTable table = config.root().table(section);
  const std::string pretrained = pretrained_key(table.table("backbone"));
  if (!pretrained.empty()) {
    const std::string key = section + ".backbone.pretrained";
    std::error_code ec;
    require(std::filesystem::exists(pretrained, ec),
            "{} = '{}': no such file. It holds the backbone's ImageNet weights (the README's \"Reproducing the published "
            "runs\" names each file and its source); set {} = \"\" to start from the initialisation alone",
            key, pretrained, key);
    const PretrainedReport report = load_pretrained_backbone(network.backbone(), pretrained, key);
    logger()->info("{} {}: {} tensors loaded ({}), {} ignored{}{}", key, pretrained, report.loaded.size(), report.format,
                   report.ignored.size(), report.ignored.empty() ? "" : ": ", first_names(report.ignored));
    if (!report.kept.empty())
      logger()->warn("{} {}: {} backbone tensor(s) are not in the file and keep their initialisation: {}", key, pretrained,
                     report.kept.size(), first_names(report.kept));
  }
  if (section != "model") return;
  const ModelSection model = parse_options<ModelSection>(table);
  if (model.init_from && !model.init_from->empty()) load_init_from(network, model);
}

}  // namespace segdistill

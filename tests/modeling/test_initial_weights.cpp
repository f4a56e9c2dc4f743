// The weights a network starts from: the published initialisation of every shipped
// backbone and head, ImageNet files through backbone.pretrained (written by
// python3-torchvision and in the published MobileNetV2 layout), model.init_from, and
// `export-checkpoint` of the starting weights.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>

#include "model_test_support.hpp"
#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/checkpoint/pytorch_checkpoint.hpp"
#include "segdistill/modeling/initial_weights.hpp"
#include "test_support.hpp"
#include "tolerance.hpp"

namespace {

using segdistill::TensorDict;
using segdistill_test::contains;
using segdistill_test::error_of;
using segdistill_test::make_model;
using segdistill_test::run_segdistill;
using segdistill_test::TempDir;

const std::string kWriter = std::string(SEGDISTILL_SOURCE_DIR) + "/tests/python/write_imagenet_files.py";

void python(const std::string& args) {
  const std::string command = "/usr/bin/python3 " + kWriter + " " + args;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

double std_of(const at::Tensor& t) { return t.to(at::kDouble).std().item<double>(); }

// Within 5% of the expected spread (each tensor here has thousands of values or more).
void expect_std(const TensorDict& weights, const std::string& name, double expected) {
  SCOPED_TRACE(name);
  ASSERT_TRUE(weights.count(name));
  EXPECT_TRUE(segdistill_test::within("std_of(weights.at(name)) vs expected", std::abs((std_of(weights.at(name))) - (expected)),
                                      0.05 * expected));
  EXPECT_TRUE(segdistill_test::within("weights.at(name).to(at::kDouble).mean().item<double>() vs 0.0",
                                      std::abs((weights.at(name).to(at::kDouble).mean().item<double>()) - (0.0)),
                                      0.05 * expected));
}

class InitialWeights : public segdistill_test::WithPlugins {};

TEST_F(InitialWeights, ResNetAndHeadDrawThePublishedInitialisation) {
  torch::manual_seed(3);
  const TensorDict w = segdistill::state_dict(*make_model("resnet18", 16, 1.0, 21));
  // ResNet: N(0, sqrt(2 / (k * k * out))).
  expect_std(w, "backbone.conv1.weight", std::sqrt(2.0 / (7 * 7 * 64)));
  expect_std(w, "backbone.layer4.1.conv2.weight", std::sqrt(2.0 / (3 * 3 * 512)));
  expect_std(w, "backbone.layer2.0.downsample.0.weight", std::sqrt(2.0 / (1 * 1 * 128)));
  // ASPP and decoder: kaiming_normal_ (fan in).
  expect_std(w, "aspp.aspp2.atrous_conv.weight", std::sqrt(2.0 / (512 * 9)));
  expect_std(w, "aspp.global_avg_pool.1.weight", std::sqrt(2.0 / 512));
  expect_std(w, "aspp.conv1.weight", std::sqrt(2.0 / 1280));
  expect_std(w, "decoder.conv1.weight", std::sqrt(2.0 / 64));
  expect_std(w, "decoder.last_conv.0.weight", std::sqrt(2.0 / (304 * 9)));
  expect_std(w, "decoder.last_conv.8.weight", std::sqrt(2.0 / 256));
  // The classifier bias keeps PyTorch's default U(-1/sqrt(256), 1/sqrt(256)); BatchNorm 1 / 0.
  EXPECT_LE(w.at("decoder.last_conv.8.bias").abs().max().item<double>(), 1.0 / 16);
  EXPECT_GT(w.at("decoder.last_conv.8.bias").abs().max().item<double>(), 0.0);
  EXPECT_TRUE(torch::equal(w.at("backbone.bn1.weight"), torch::ones({64})));
  EXPECT_TRUE(torch::equal(w.at("aspp.bn1.bias"), torch::zeros({256})));
}

TEST_F(InitialWeights, MobileNetV2DrawsKaimingNormalFanIn) {
  torch::manual_seed(4);
  const TensorDict w = segdistill::state_dict(*make_model("mobilenetv2", 16, 1.0, 21));
  expect_std(w, "backbone.features.0.0.weight", std::sqrt(2.0 / (3 * 9)));
  expect_std(w, "backbone.features.17.conv.3.weight", std::sqrt(2.0 / 9));  // depthwise: fan in 1 * 3 * 3
  expect_std(w, "backbone.features.17.conv.0.weight", std::sqrt(2.0 / 160));
  expect_std(w, "backbone.features.17.conv.6.weight", std::sqrt(2.0 / 960));
  // The low- and high-level views are the same tensors.
  EXPECT_TRUE(w.at("backbone.features.17.conv.3.weight").is_same(w.at("backbone.high_level_features.17.conv.3.weight")));
}

// Every backbone tensor of the model equals the file's; the classifier was ignored.
void expect_loaded(const segdistill::Segmentor& model, const TensorDict& file, const segdistill::PretrainedReport& report,
                   std::size_t ignored) {
  const TensorDict backbone = segdistill::state_dict(const_cast<segdistill::Segmentor&>(model).backbone());
  std::size_t compared = 0;
  for (const auto& [name, tensor] : file) {
    auto it = backbone.find(name);
    if (it == backbone.end()) continue;
    EXPECT_TRUE(torch::equal(it->second, tensor.to(it->second.dtype()))) << name;
    ++compared;
  }
  EXPECT_EQ(compared, report.loaded.size());
  EXPECT_EQ(report.ignored.size(), ignored);
  EXPECT_TRUE(report.kept.empty()) << report.kept.front();
}

TEST_F(InitialWeights, TorchvisionResNetFilesLoadIntoTheBackbone) {
  TempDir dir;
  for (const char* arch : {"resnet18", "resnet101"}) {
    SCOPED_TRACE(arch);
    const std::string legacy = (dir.path() / (std::string(arch) + "_legacy.pth")).string();
    const std::string zip = (dir.path() / (std::string(arch) + "_zip.pth")).string();
    python(std::string("torchvision ") + arch + " " + legacy + " --legacy");
    python(std::string("torchvision ") + arch + " " + zip);
    for (const std::string& file : {legacy, zip}) {
      auto model = make_model(arch, 16, 1.0, 21);
      const TensorDict head_before = segdistill::state_dict(*model);
      const auto report = segdistill::load_pretrained_backbone(model->backbone(), file, "model.backbone.pretrained");
      const TensorDict tensors = segdistill::read_pytorch_state_dict(file).tensors;
      expect_loaded(*model, tensors, report, 2);  // fc.weight, fc.bias
      EXPECT_EQ(report.loaded.size(), tensors.size() - 2);
      // The head is untouched.
      EXPECT_TRUE(torch::equal(segdistill::state_dict(*model).at("aspp.conv1.weight"), head_before.at("aspp.conv1.weight")));
    }
  }
}

TEST_F(InitialWeights, PublishedMobileNetV2FileLoadsIntoTheBackbone) {
  TempDir dir;
  const std::string file = (dir.path() / "mobilenet_v2.pth").string();
  python("published_mobilenet " + file);
  auto model = make_model("mobilenetv2", 16, 1.0, 21);
  const auto report = segdistill::load_pretrained_backbone(model->backbone(), file, "model.backbone.pretrained");
  // features.18.{0.weight, 1.weight, 1.bias, 1.running_mean, 1.running_var, 1.num_batches_tracked}, classifier.1.{weight, bias}
  expect_loaded(*model, segdistill::read_pytorch_state_dict(file).tensors, report, 8);
  // Loaded through features.*, seen through the decoder's low-level view as well.
  const TensorDict w = segdistill::state_dict(model->backbone());
  EXPECT_TRUE(torch::equal(w.at("low_level_features.2.conv.0.weight"), w.at("features.2.conv.0.weight")));
}

TEST_F(InitialWeights, FilesOfAnotherArchitectureOrShapeAreRefusedNamingKeyAndShapes) {
  TempDir dir;
  const std::string r50 = (dir.path() / "resnet50.pth").string(), mbv2 = (dir.path() / "mobilenet_v2_tv.pth").string();
  const std::string r18 = (dir.path() / "resnet18.pth").string();
  python("torchvision resnet50 " + r50);
  python("torchvision resnet18 " + r18);
  python("torchvision mobilenet_v2 " + mbv2);
  auto resnet18 = make_model("resnet18", 16, 1.0, 21);
  const TensorDict before = segdistill::state_dict(resnet18->backbone());
  const std::string other =
      error_of([&] { segdistill::load_pretrained_backbone(resnet18->backbone(), r50, "model.backbone.pretrained"); });
  EXPECT_TRUE(contains(other, "model.backbone.pretrained = '" + r50 + "'")) << other;
  EXPECT_TRUE(contains(other, "another architecture")) << other;
  EXPECT_TRUE(contains(other, "layer1.0.conv3.weight [256, 64, 1, 1]")) << other;  // a Bottleneck's third convolution
  // Nothing was copied.
  EXPECT_TRUE(torch::equal(segdistill::state_dict(resnet18->backbone()).at("conv1.weight"), before.at("conv1.weight")));

  auto mobilenet = make_model("mobilenetv2", 16, 1.0, 21);
  const std::string foreign =
      error_of([&] { segdistill::load_pretrained_backbone(mobilenet->backbone(), mbv2, "teacher.backbone.pretrained"); });
  EXPECT_TRUE(contains(foreign, "teacher.backbone.pretrained")) << foreign;
  EXPECT_TRUE(contains(foreign, "another architecture")) << foreign;
  EXPECT_TRUE(contains(foreign, "features.1.conv.0.0.weight")) << foreign;  // torchvision's layout names the key

  auto narrow = make_model("resnet18", 16, 0.5, 21);
  const std::string narrow_error =
      error_of([&] { segdistill::load_pretrained_backbone(narrow->backbone(), r18, "model.backbone.pretrained"); });
  EXPECT_TRUE(contains(narrow_error, "'bn1.bias' has shape [64] in the file but [32] in the backbone (and 99 more"))
      << narrow_error;
}

// A config for the command line: the toy-sized student with optional extra [model] lines.
std::string config_text(const std::string& backbone_extra, const std::string& model_extra) {
  return "[model]\nnum_classes = 5\nbackbone = {type = \"resnet18\", output_stride = 16" + backbone_extra +
         "}\nhead = {type = \"deeplabv3plus\"}\n" + model_extra + "[train]\nseed = 7\n";
}

TEST_F(InitialWeights, ExportedStartingWeightsCarryPretrainedAndInitFrom) {
  TempDir dir;
  const std::string imagenet = (dir.path() / "resnet18.pth").string();
  python("torchvision resnet18 " + imagenet + " --legacy");
  const std::string cfg = dir.write("pre.toml", config_text(", pretrained = \"" + imagenet + "\"", ""));
  const std::string start = (dir.path() / "start.pth").string();
  const auto exported = run_segdistill({"export-checkpoint", cfg, "--output", start});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_TRUE(contains(exported.err, "model.backbone.pretrained")) << exported.err;  // the log lists what was loaded
  const TensorDict file = segdistill::read_pytorch_state_dict(imagenet).tensors;
  const TensorDict weights = segdistill::read_pytorch_state_dict(start).tensors;
  EXPECT_TRUE(torch::equal(weights.at("backbone.layer3.1.conv2.weight"), file.at("layer3.1.conv2.weight")));
  EXPECT_TRUE(torch::equal(weights.at("backbone.bn1.running_var"), file.at("bn1.running_var")));

  // Seeded by train.seed: the same file twice, another with another seed.
  const std::string again = (dir.path() / "again.pth").string(), other = (dir.path() / "other.pth").string();
  ASSERT_EQ(run_segdistill({"export-checkpoint", cfg, "--output", again}).exit_code, 0);
  ASSERT_EQ(run_segdistill({"export-checkpoint", cfg, "--output", other, "--set", "train.seed=8"}).exit_code, 0);
  const TensorDict twice = segdistill::read_pytorch_state_dict(again).tensors;
  const TensorDict reseeded = segdistill::read_pytorch_state_dict(other).tensors;
  EXPECT_TRUE(torch::equal(twice.at("aspp.conv1.weight"), weights.at("aspp.conv1.weight")));
  EXPECT_FALSE(torch::equal(reseeded.at("aspp.conv1.weight"), weights.at("aspp.conv1.weight")));

  // init_from: every tensor from the file (strict), over the pretrained backbone.
  const std::string from = dir.write("from.toml", config_text("", "init_from = \"" + other + "\"\n"));
  const std::string loaded = (dir.path() / "loaded.pth").string();
  const auto init = run_segdistill({"export-checkpoint", from, "--output", loaded});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  const TensorDict result = segdistill::read_pytorch_state_dict(loaded).tensors;
  ASSERT_EQ(result.size(), reseeded.size());
  for (const auto& [name, tensor] : reseeded) EXPECT_TRUE(torch::equal(result.at(name), tensor)) << name;
}

TEST_F(InitialWeights, InitFromIsStrictUnlessPartial) {
  TempDir dir;
  const std::string cfg = dir.write("base.toml", config_text("", ""));
  const std::string full = (dir.path() / "full.pth").string();
  ASSERT_EQ(run_segdistill({"export-checkpoint", cfg, "--output", full}).exit_code, 0);
  // Another head: 7 classes.
  const std::string other_classes = (dir.path() / "seven.pth").string();
  ASSERT_EQ(run_segdistill({"export-checkpoint", cfg, "--output", other_classes, "--set", "model.num_classes=7"}).exit_code, 0);

  const std::string strict = dir.write("strict.toml", config_text("", "init_from = \"" + other_classes + "\"\n"));
  const auto refused = run_segdistill({"export-checkpoint", strict, "--output", (dir.path() / "x.pth").string()});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(contains(refused.err, "model.init_from " + other_classes)) << refused.err;
  EXPECT_TRUE(contains(refused.err, "'decoder.last_conv.8.bias' has shape [7] in the checkpoint, [5] in the model"))
      << refused.err;

  const std::string partial =
      dir.write("partial.toml", config_text("", "init_from = \"" + other_classes + "\"\ninit_from_partial = true\n"));
  const std::string out = (dir.path() / "partial.pth").string();
  const auto loaded = run_segdistill({"export-checkpoint", partial, "--output", out});
  ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  EXPECT_TRUE(contains(loaded.err, "decoder.last_conv.8.weight")) << loaded.err;  // listed as kept
  const TensorDict source = segdistill::read_pytorch_state_dict(other_classes).tensors;
  const TensorDict result = segdistill::read_pytorch_state_dict(out).tensors;
  const TensorDict own = segdistill::read_pytorch_state_dict(full).tensors;
  EXPECT_TRUE(torch::equal(result.at("aspp.conv1.weight"), source.at("aspp.conv1.weight")));
  EXPECT_TRUE(torch::equal(result.at("decoder.last_conv.8.weight"), own.at("decoder.last_conv.8.weight")));

  const std::string missing = dir.write("missing.toml", config_text(", pretrained = \"absent.pth\"", ""));
  const auto absent = run_segdistill({"export-checkpoint", missing, "--output", (dir.path() / "y.pth").string()});
  EXPECT_NE(absent.exit_code, 0);
  EXPECT_TRUE(contains(absent.err, "model.backbone.pretrained = 'absent.pth': no such file")) << absent.err;
}

}  // namespace

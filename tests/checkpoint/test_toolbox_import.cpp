// The CIRKD toolbox's networks against an independent PyTorch implementation
// (tests/python/cirkd_networks_reference.py): its checkpoints, written by torch.save in
// both formats with random weights and BatchNorm statistics, import into segdistill's
// networks, which then give the same logits, distilled feature and auxiliary logits on
// an odd-sized input (67 x 83), and export back to a file the PyTorch model loads strictly.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <fstream>

#include "model_test_support.hpp"
#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/checkpoint/pytorch_checkpoint.hpp"
#include "test_support.hpp"
#include "tolerance.hpp"

using namespace segdistill;
using segdistill_test::run_segdistill;
using segdistill_test::TempDir;

namespace {

const std::string kScript = std::string(SEGDISTILL_SOURCE_DIR) + "/tests/python/cirkd_networks_reference.py";

void python(const std::string& args) {
  const std::string command = "/usr/bin/python3 " + kScript + " " + args;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

struct ToolboxNetwork {
  std::string name;      // the reference's --network
  std::string backbone;  // segdistill's [model] tables
  std::string head;
  std::string backbone_key = "pretrained";
};

std::string model_toml(const ToolboxNetwork& n) {
  return "[model]\nnum_classes = 19\nbackbone_key = \"" + n.backbone_key + "\"\nbackbone = " + n.backbone + "\nhead = " + n.head +
         "\n";
}

// The float32 forward of the same network in two implementations on the same kernels:
// documented bound, relative to the largest value (see tests/TOLERANCES.md).
constexpr double kRelativeBound = 1e-5;

void expect_same_outputs(const ToolboxNetwork& n, const std::string& format) {
  TempDir dir;
  python("make --network " + n.name + " --format " + format + " --out " + dir.path().string());
  const PyTorchStateDict file = read_pytorch_state_dict((dir.path() / "checkpoint.pth").string());
  const auto config = Config::parse(model_toml(n), "toolbox.toml");
  Segmentor model(config.root().table("model"));
  load_state_dict(model, file.tensors, "checkpoint.pth");
  model.eval();
  const PyTorchStateDict io = read_pytorch_state_dict((dir.path() / "io.pt").string());
  torch::NoGradGuard no_grad;
  const SegmentorOutput out = model.forward(io.tensors.at("input"));
  const std::vector<std::pair<std::string, std::string>> pairs{
      {"logits", "logits"}, {"head.feature", "feature"}, {"head.aux_logits", "aux_logits"}};
  for (const auto& [ours, theirs] : pairs) {
    if (!io.tensors.count(theirs)) {
      EXPECT_FALSE(out.features.count(ours)) << n.name << " has no " << theirs;
      continue;
    }
    const at::Tensor& expected = io.tensors.at(theirs);
    const at::Tensor& actual = out.features.at(ours);
    ASSERT_EQ(actual.sizes(), expected.sizes()) << n.name << " " << ours;
    // The comparison means something only if the values vary.
    ASSERT_GT(expected.std().item<double>(), 1e-3 * expected.abs().max().item<double>()) << n.name << " " << theirs;
    EXPECT_TRUE(segdistill_test::within(n.name + " " + theirs + " vs PyTorch (max |a-b| / max |b|)",
                                        segdistill_test::relative_difference(actual, expected), kRelativeBound))
        << format;
  }
}

const ToolboxNetwork kDeepLabV3R18{"deeplabv3_resnet18", "{type = \"resnet18_v1s\"}", "{type = \"cirkd_deeplabv3\", aux = true}"};
const ToolboxNetwork kPspMnv3Small{"psp_mobilenetv3_small", "{type = \"mobilenetv3_small\"}", "{type = \"cirkd_psp\"}"};

}  // namespace

class ToolboxNetworks : public segdistill_test::WithPlugins {};

TEST_F(ToolboxNetworks, DeepLabV3ResNet18ZipCheckpoint) { expect_same_outputs(kDeepLabV3R18, "zip"); }

TEST_F(ToolboxNetworks, DeepLabV3ResNet101LegacyCheckpoint) {
  expect_same_outputs({"deeplabv3_resnet101", "{type = \"resnet101_v1s\"}", "{type = \"cirkd_deeplabv3\", aux = true}"},
                      "legacy");
}

TEST_F(ToolboxNetworks, PspNetResNet18LegacyCheckpoint) {
  expect_same_outputs({"psp_resnet18", "{type = \"resnet18_v1s\"}", "{type = \"cirkd_psp\", aux = true}"}, "legacy");
}

TEST_F(ToolboxNetworks, PspNetMobileNetV3SmallAndLarge) {
  expect_same_outputs(kPspMnv3Small, "zip");
  expect_same_outputs({"psp_mobilenetv3_large", "{type = \"mobilenetv3_large\"}", "{type = \"cirkd_psp\"}"}, "legacy");
}

TEST_F(ToolboxNetworks, DeepLabV3MobileNetV3SmallAndLarge) {
  expect_same_outputs(
      {"deeplabv3_mobilenetv3_small", "{type = \"mobilenetv3_small\"}", "{type = \"cirkd_deeplabv3\", channels = 128}"},
      "legacy");
  expect_same_outputs(
      {"deeplabv3_mobilenetv3_large", "{type = \"mobilenetv3_large\"}", "{type = \"cirkd_deeplabv3\", channels = 128}"}, "zip");
}

TEST_F(ToolboxNetworks, DeepLabV3MobileNetV2LegacyCheckpoint) {
  expect_same_outputs(
      {"deeplabv3_mobilenetv2", "{type = \"mobilenetv2_dilated\"}", "{type = \"cirkd_deeplabv3\", channels = 128}"}, "legacy");
}

TEST_F(ToolboxNetworks, UperNetLiteResNet18ZipCheckpoint) {
  expect_same_outputs({"upernet_resnet18", "{type = \"resnet18_v1s\"}", "{type = \"cirkd_upernet\", aux = true}"}, "zip");
}

// MobileViT's transformer runs on 2 x 2 patches: at 67 x 83 its maps are 9 x 11, odd, so
// the resize to even sizes and back is exercised too.
TEST_F(ToolboxNetworks, MobileViTXxsPspAndDeepLabV3) {
  expect_same_outputs({"psp_mobilevit_xxs", "{type = \"mobilevit_xxs\"}", "{type = \"cirkd_psp\"}"}, "legacy");
  expect_same_outputs({"deeplabv3_mobilevit_xxs", "{type = \"mobilevit_xxs\"}", "{type = \"cirkd_deeplabv3\", channels = 128}"},
                      "zip");
}

TEST_F(ToolboxNetworks, SegFormerMitB0AndB4) {
  expect_same_outputs({"segformer_mit_b0", "{type = \"mit_b0\"}", "{type = \"cirkd_segformer\", channels = 256}", ""}, "zip");
  expect_same_outputs({"segformer_mit_b4", "{type = \"mit_b4\"}", "{type = \"cirkd_segformer\", channels = 768}", ""}, "legacy");
}

// import-checkpoint and export-checkpoint on the command line: every tensor in, the
// exported file loads strictly into the PyTorch model and holds the same tensors.
TEST_F(ToolboxNetworks, ImportExportRoundTripThroughTheCommandLine) {
  for (const auto& [network, format] : {std::pair{kPspMnv3Small, "legacy"}, std::pair{kDeepLabV3R18, "zip"}}) {
    TempDir dir;
    python("make --network " + network.name + " --format " + format + " --out " + dir.path().string());
    const std::string config = dir.write("model.toml", model_toml(network));
    const std::string ckpt = (dir.path() / "imported.ckpt").string();
    const auto imported =
        run_segdistill({"import-checkpoint", config, "--from", (dir.path() / "checkpoint.pth").string(), "--output", ckpt});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    const std::size_t entries = network.name == kDeepLabV3R18.name ? 190 : 272;
    EXPECT_NE(imported.out.find("imported " + std::to_string(entries) + " of " + std::to_string(entries) + " tensors"),
              std::string::npos)
        << imported.out;
    const std::string exported = (dir.path() / "exported.pth").string();
    const auto out = run_segdistill({"export-checkpoint", config, "--checkpoint", ckpt, "--output", exported});
    ASSERT_EQ(out.exit_code, 0) << out.err;
    const std::string result = (dir.path() / "compare.txt").string();
    python("compare --network " + network.name + " --original " + (dir.path() / "checkpoint.pth").string() + " --exported " +
           exported + " > " + result);
    std::ifstream in(result);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "identical " + std::to_string(entries));
  }
}

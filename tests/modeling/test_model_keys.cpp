// State-dict names, shapes and dtypes identical to the reference DeepLabV3+ checkpoints
// (tests/data/reference_keys/deeplabv3plus_*_os16_keys.txt, listed from the published code)
// and to the CIRKD toolbox's networks (cirkd_*_keys.txt, listed from its code by building
// them; their first lines give the entry and parameter counts).
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <fstream>
#include <map>
#include <sstream>

#include "model_test_support.hpp"
#include "test_support.hpp"

using namespace segdistill;

namespace {

struct KeyInfo {
  std::string shape;
  std::string dtype;
  bool operator==(const KeyInfo& o) const { return shape == o.shape && dtype == o.dtype; }
};

std::string shape_text(const at::Tensor& t) {
  if (t.dim() == 0) return "()";
  std::string out = "(";
  for (int64_t i = 0; i < t.dim(); ++i) out += (i ? ", " : "") + std::to_string(t.size(i));
  return out + (t.dim() == 1 ? ",)" : ")");
}

std::string dtype_text(const at::Tensor& t) { return t.scalar_type() == at::kLong ? "int64" : "float32"; }

std::map<std::string, KeyInfo> reference_keys(const std::string& file) {
  const std::string path = std::string(SEGDISTILL_REFERENCE_DIR) + "/" + file;
  std::ifstream in(path);
  if (!in) ADD_FAILURE() << "cannot read the reference key file " << path;
  std::map<std::string, KeyInfo> keys;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, shape, dtype;
    std::getline(fields, name, '\t');
    std::getline(fields, shape, '\t');
    std::getline(fields, dtype, '\t');
    keys[name] = {shape, dtype};
  }
  return keys;
}

std::map<std::string, KeyInfo> model_keys(Segmentor& model) {
  std::map<std::string, KeyInfo> keys;
  for (const auto& p : model.named_parameters()) keys[p.key()] = {shape_text(p.value()), dtype_text(p.value())};
  for (const auto& b : model.named_buffers()) keys[b.key()] = {shape_text(b.value()), dtype_text(b.value())};
  return keys;
}

void expect_same_keys(Segmentor& model, const std::string& file, const std::string& what);

void expect_same_keys(const std::string& backbone, const std::string& file, std::int64_t output_stride = 16) {
  auto model = segdistill_test::make_model(backbone, output_stride, 1.0, 21);
  expect_same_keys(*model, file, backbone);
}

// "# 190 state-dict entries, 22762918 parameters; ..." of a toolbox key file.
std::int64_t stated_parameters(const std::string& file) {
  std::ifstream in(std::string(SEGDISTILL_REFERENCE_DIR) + "/" + file);
  std::string line;
  while (std::getline(in, line)) {
    const auto at = line.find(" parameters;");
    if (line.rfind("# ", 0) != 0 || at == std::string::npos) continue;
    const auto start = line.rfind(' ', at - 1) + 1;
    return std::stoll(line.substr(start, at - start));
  }
  ADD_FAILURE() << file << " states no parameter count";
  return -1;
}

// A toolbox network (19 classes, the key files' count) from its backbone and head tables.
void expect_toolbox_keys(const std::string& backbone, const std::string& head, const std::string& file,
                         const std::string& backbone_key = "pretrained") {
  const auto config = Config::parse(
      "[model]\nnum_classes = 19\nbackbone_key = \"" + backbone_key + "\"\nbackbone = " + backbone + "\nhead = " + head + "\n",
      "toolbox.toml");
  Segmentor model(config.root().table("model"));
  expect_same_keys(model, file, backbone + " " + head);
  std::int64_t parameters = 0;
  for (const auto& p : model.parameters()) parameters += p.numel();
  EXPECT_EQ(parameters, stated_parameters(file)) << file;
}

void expect_same_keys(Segmentor& model, const std::string& file, const std::string& what) {
  const auto expected = reference_keys(file);
  const auto actual = model_keys(model);
  ASSERT_FALSE(expected.empty());
  std::ostringstream diff;
  for (const auto& [name, info] : expected) {
    auto it = actual.find(name);
    if (it == actual.end())
      diff << "missing: " << name << " " << info.shape << "\n";
    else if (!(it->second == info))
      diff << "differs: " << name << " " << it->second.shape << " " << it->second.dtype << " vs reference " << info.shape << " "
           << info.dtype << "\n";
  }
  for (const auto& [name, info] : actual)
    if (!expected.count(name)) diff << "unexpected: " << name << " " << info.shape << "\n";
  EXPECT_EQ(diff.str(), "") << what;
  EXPECT_EQ(actual.size(), expected.size());
}

}  // namespace

class ModelKeys : public segdistill_test::WithPlugins {};

TEST_F(ModelKeys, ResNet18MatchesTheReference) { expect_same_keys("resnet18", "deeplabv3plus_resnet18_os16_keys.txt"); }
TEST_F(ModelKeys, ResNet101MatchesTheReference) { expect_same_keys("resnet101", "deeplabv3plus_resnet101_os16_keys.txt"); }
TEST_F(ModelKeys, MobileNetV2MatchesTheReference) { expect_same_keys("mobilenetv2", "deeplabv3plus_mobilenet_os16_keys.txt"); }
TEST_F(ModelKeys, XceptionMatchesTheReference) { expect_same_keys("xception", "deeplabv3plus_xception_os16_keys.txt"); }
// The published DRN-D-54 exists only at output stride 8.
TEST_F(ModelKeys, DrnD54MatchesTheReference) { expect_same_keys("drn_d_54", "deeplabv3plus_drn_os8_keys.txt", 8); }

// The CIRKD toolbox's networks: ResNet v1s and MobileNetV3 under "pretrained.", its DeepLabV3
// and PSPNet heads under "head.", the auxiliary head under "auxlayer.".
TEST_F(ModelKeys, ToolboxDeepLabV3ResNet18) {
  expect_toolbox_keys("{type = \"resnet18_v1s\"}", "{type = \"cirkd_deeplabv3\", aux = true}",
                      "cirkd_deeplabv3_resnet18_keys.txt");
}
TEST_F(ModelKeys, ToolboxDeepLabV3ResNet101) {
  expect_toolbox_keys("{type = \"resnet101_v1s\"}", "{type = \"cirkd_deeplabv3\", aux = true}",
                      "cirkd_deeplabv3_resnet101_keys.txt");
}
TEST_F(ModelKeys, ToolboxPspNetResNet18) {
  expect_toolbox_keys("{type = \"resnet18_v1s\"}", "{type = \"cirkd_psp\", aux = true}", "cirkd_pspnet_resnet18_keys.txt");
}
TEST_F(ModelKeys, ToolboxMobileNetV3Networks) {
  expect_toolbox_keys("{type = \"mobilenetv3_small\"}", "{type = \"cirkd_psp\"}", "cirkd_pspnet_mobilenetv3_small_keys.txt");
  expect_toolbox_keys("{type = \"mobilenetv3_large\"}", "{type = \"cirkd_psp\"}", "cirkd_pspnet_mobilenetv3_large_keys.txt");
  expect_toolbox_keys("{type = \"mobilenetv3_small\"}", "{type = \"cirkd_deeplabv3\", channels = 128}",
                      "cirkd_deeplabv3_mobilenetv3_small_keys.txt");
  expect_toolbox_keys("{type = \"mobilenetv3_large\"}", "{type = \"cirkd_deeplabv3\", channels = 128}",
                      "cirkd_deeplabv3_mobilenetv3_large_keys.txt");
}

TEST_F(ModelKeys, ToolboxDeepLabV3MobileNetV2) {
  expect_toolbox_keys("{type = \"mobilenetv2_dilated\"}", "{type = \"cirkd_deeplabv3\", channels = 128}",
                      "cirkd_deeplabv3_mobilenetv2_keys.txt");
}
TEST_F(ModelKeys, ToolboxUperNetLiteResNet18) {
  expect_toolbox_keys("{type = \"resnet18_v1s\"}", "{type = \"cirkd_upernet\", aux = true}",
                      "cirkd_upernet_lite_resnet18_keys.txt");
}
TEST_F(ModelKeys, ToolboxMobileViTNetworks) {
  expect_toolbox_keys("{type = \"mobilevit_xxs\"}", "{type = \"cirkd_psp\"}", "cirkd_pspnet_mobilevit_xxs_keys.txt");
  expect_toolbox_keys("{type = \"mobilevit_xxs\"}", "{type = \"cirkd_deeplabv3\", channels = 128}",
                      "cirkd_deeplabv3_mobilevit_xxs_keys.txt");
}
// SegFormer's keys have no backbone prefix: backbone_key = "".
TEST_F(ModelKeys, ToolboxSegFormers) {
  expect_toolbox_keys("{type = \"mit_b0\"}", "{type = \"cirkd_segformer\", channels = 256}", "cirkd_segformer_mit_b0_keys.txt",
                      "");
  expect_toolbox_keys("{type = \"mit_b4\"}", "{type = \"cirkd_segformer\", channels = 768}", "cirkd_segformer_mit_b4_keys.txt",
                      "");
}

// model.backbone_key: the backbone's tensors under "pretrained." or at the top level;
// feature names stay "backbone.*", and modes still reach the backbone.
TEST_F(ModelKeys, BackboneKeyPlacesTheBackbone) {
  const auto build = [](const std::string& key) {
    const auto config = Config::parse("[model]\nnum_classes = 3\nbackbone_key = \"" + key +
                                          "\"\nbackbone = {type = \"resnet18_v1s\"}\nhead = {type = \"cirkd_psp\"}\n",
                                      "key.toml");
    return std::make_shared<Segmentor>(config.root().table("model"));
  };
  const auto top = build("");
  const auto keys = model_keys(*top);
  EXPECT_TRUE(keys.count("conv1.weight"));
  EXPECT_TRUE(keys.count("layer4.1.bn2.running_var"));
  EXPECT_TRUE(keys.count("head.classifier.weight"));
  for (const auto& [name, info] : keys) EXPECT_NE(name.rfind("backbone.", 0), 0u) << name;
  EXPECT_EQ(top->feature_spec("backbone.layer3", "test").channels, 256);
  top->eval();
  EXPECT_FALSE(top->backbone().is_training());
  top->train();
  EXPECT_TRUE(top->backbone().is_training());
  EXPECT_TRUE(model_keys(*build("pretrained")).count("pretrained.conv1.weight"));
  EXPECT_TRUE(model_keys(*build("backbone")).count("backbone.conv1.weight"));
  const std::string bad = segdistill_test::error_of([&] { build("encoder"); });
  EXPECT_NE(bad.find("model.backbone_key: invalid value \"encoder\""), std::string::npos) << bad;
}

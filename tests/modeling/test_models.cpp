// Backbones, heads and the Segmentor: shapes against their declared specs, options.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "model_test_support.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/modeling/batch_norm.hpp"

using namespace segdistill;
using segdistill_test::make_model;

namespace {

// Every feature's channels and stride agree with the declared spec (sizes rounded up,
// as strided convolutions with padding give).
void expect_specs_match(Segmentor& model, std::int64_t size) {
  torch::NoGradGuard no_grad;
  model.eval();
  const auto out = model.forward(torch::randn({2, 3, size, size}));
  EXPECT_EQ(out.logits.sizes(), (std::vector<std::int64_t>{2, model.num_classes(), size, size}));
  ASSERT_EQ(out.features.size(), model.feature_specs().size());
  for (const auto& spec : model.feature_specs()) {
    const auto& tensor = out.features.at(spec.name);
    EXPECT_EQ(tensor.size(1), spec.channels) << spec.name;
    EXPECT_EQ(tensor.size(2), (size + spec.stride - 1) / spec.stride) << spec.name << " stride " << spec.stride;
  }
}

}  // namespace

class Models : public segdistill_test::WithPlugins {};

TEST_F(Models, ResNetsAtOutputStride8And16) {
  for (const char* backbone : {"resnet18", "resnet50"}) {
    for (std::int64_t os : {8, 16}) {
      auto model = make_model(backbone, os, 0.25, 5);
      EXPECT_EQ(model->feature_spec("backbone.out", "k").stride, os);
      expect_specs_match(*model, 65);
    }
  }
}

TEST_F(Models, MobileNetV2AtEveryOutputStride) {
  for (std::int64_t os : {8, 16, 32}) {
    auto model =
        make_model("mobilenetv2", os, 0.5, 4, os == 32 ? "{type = \"fcn\", channels = 16}" : "{type = \"deeplabv3plus\"}");
    EXPECT_EQ(model->feature_spec("backbone.out", "k").stride, os);
    EXPECT_EQ(model->feature_spec("backbone.low_level", "k").channels, 12);
    expect_specs_match(*model, 64);
  }
}

TEST_F(Models, DecoderFeatureIsTheTatFeature) {
  auto model = make_model("resnet18", 16, 0.25, 3);
  const auto& spec = model->feature_spec("head.decoder", "distillers.0.student_feature");
  EXPECT_EQ(spec.channels, 256);
  EXPECT_EQ(spec.stride, 4);
  torch::NoGradGuard no_grad;
  model->eval();
  const auto out = model->forward(torch::randn({1, 3, 64, 64}));
  // Taken before the ReLU: it has negative values.
  EXPECT_LT(out.features.at("head.decoder").min().item<float>(), 0.0f);
}

TEST_F(Models, WidthScalesChannels) {
  auto narrow = make_model("resnet18", 16, 0.25, 3);
  EXPECT_EQ(narrow->feature_spec("backbone.layer4", "k").channels, 128);
  EXPECT_EQ(narrow->feature_spec("backbone.low_level", "k").channels, 16);
  auto bottleneck = make_model("resnet50", 16, 0.5, 3);
  EXPECT_EQ(bottleneck->feature_spec("backbone.out", "k").channels, 1024);
}

TEST_F(Models, UnknownFeatureListsTheAvailableOnes) {
  auto model = make_model("resnet18", 16, 0.25, 3);
  try {
    model->feature_spec("head.decodr", "distillers.0.student_feature");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "distillers.0.student_feature: the network has no feature 'head.decodr' (did you mean 'head.decoder'?); "
              "available features: backbone.layer1, backbone.layer2, backbone.layer3, backbone.layer4, backbone.low_level, "
              "backbone.out, head.aspp, head.decoder, logits");
  }
}

TEST_F(Models, FrozenBatchNormStaysInEvalAndDoesNotTrain) {
  const auto config = Config::parse(
      "[model]\nnum_classes = 3\nbackbone = {type = \"resnet18\", width = 0.25, frozen_bn = true}\nhead = {type = \"fcn\"}\n",
      "frozen.toml");
  auto model_ptr = std::make_shared<Segmentor>(config.root().table("model"));
  Segmentor& model = *model_ptr;
  model.train();
  auto* bn_module = model.backbone().named_modules("", false)["bn1"]->as<segdistill::BatchNorm2d>();
  ASSERT_NE(bn_module, nullptr);
  auto& bn = *bn_module;
  EXPECT_FALSE(bn.is_training());
  EXPECT_FALSE(bn.weight.requires_grad());
  const auto before = bn.running_mean.clone();
  model.forward(torch::randn({2, 3, 32, 32}) * 5 + 3);
  EXPECT_TRUE(torch::equal(before, bn.running_mean));
  // The head's BatchNorm is not the backbone's: it still trains.
  EXPECT_TRUE(model.named_modules("", false)["fcn.bn"]->is_training());
}

TEST_F(Models, HeadOptionsAreChecked) {
  EXPECT_THROW(make_model("resnet18", 16, 0.25, 3, "{type = \"deeplabv3plus\", decoder_dropout = [0.5]}"), Error);
  EXPECT_THROW(make_model("resnet18", 16, 0.25, 3, "{type = \"deeplabv3plus\", aspp_dropout = 1.5}"), Error);
  auto custom = make_model("resnet18", 16, 0.25, 3, "{type = \"deeplabv3plus\", aspp_channels = 32, dilations = [1, 2, 3]}");
  EXPECT_EQ(custom->feature_spec("head.aspp", "k").channels, 32);
  expect_specs_match(*custom, 33);
}

// [model] frozen_bn: every BatchNorm, the head's too, keeps statistics and affine
// parameters through train() and a training forward; the convolutions still train.
TEST_F(Models, FrozenBatchNormOfTheWholeNetwork) {
  const auto config = Config::parse(
      "[model]\nnum_classes = 3\nfrozen_bn = true\nbackbone = {type = \"mobilenetv2\", width = 0.25}\n"
      "head = {type = \"deeplabv3plus\", aspp_channels = 16, low_level_channels = 8, decoder_channels = 16}\n",
      "frozen.toml");
  auto model = std::make_shared<Segmentor>(config.root().table("model"));
  model->train();
  std::vector<segdistill::BatchNorm2dImpl*> batch_norms;
  std::vector<at::Tensor> statistics;
  for (const auto& item : model->named_modules("", false)) {
    if (auto* bn = item.value()->as<segdistill::BatchNorm2d>()) {
      EXPECT_FALSE(bn->is_training()) << item.key();
      EXPECT_FALSE(bn->weight.requires_grad()) << item.key();
      EXPECT_FALSE(bn->bias.requires_grad()) << item.key();
      batch_norms.push_back(bn);
      statistics.push_back(bn->running_mean.clone());
    }
  }
  ASSERT_GT(batch_norms.size(), 10u);
  model->forward(torch::randn({2, 3, 33, 33}) * 5 + 3).logits.sum().backward();
  for (std::size_t i = 0; i < batch_norms.size(); ++i) EXPECT_TRUE(torch::equal(statistics[i], batch_norms[i]->running_mean));
  for (const auto& p : model->named_parameters()) {
    if (p.value().requires_grad()) {
      EXPECT_TRUE(p.value().grad().defined()) << p.key();
    }
  }
  // Without it the head's BatchNorm trains.
  auto plain = segdistill_test::make_model("mobilenetv2", 16, 0.25, 3);
  plain->train();
  EXPECT_TRUE(plain->named_modules("", false)["decoder.bn1"]->is_training());
}

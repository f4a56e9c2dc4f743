// Backbones, heads and the Segmentor: shapes against their declared specs, options.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "model_test_support.hpp"
#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/modeling/batch_norm.hpp"
#include "tolerance.hpp"

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
              "backbone.out, head.aspp, head.aspp_pre_relu, head.decoder, logits");
  }
}

TEST_F(Models, AsppPreReluIsTheFusionBeforeItsRelu) {
  auto model = make_model("resnet18", 16, 0.25, 3);
  model->eval();
  const auto out = model->forward(torch::randn({1, 3, 64, 64}));
  const at::Tensor& fused = out.features.at("head.aspp_pre_relu");
  EXPECT_LT(fused.min().item<float>(), 0.0f);
  EXPECT_TRUE(segdistill_test::allclose("torch::relu(fused) vs out.features.at('head.aspp')", torch::relu(fused),
                                        out.features.at("head.aspp"), 1e-5, 1e-8));
}

// backbone stage_features: the published extract_feature's MobileNetV2 levels. Stage k's
// feature is the expansion convolution + BatchNorm of its first block re-applied to the
// stage's (unpadded) input, after the block itself ran on the padded input: in training
// the BatchNorm's running statistics take both updates, in that order.
TEST_F(Models, MobileNetV2StageFeaturesAreThePublishedOnes) {
  const auto config = Config::parse(
      "[model]\nnum_classes = 3\nbackbone = {type = \"mobilenetv2\", width = 0.5, stage_features = true}\n"
      "head = {type = \"deeplabv3plus\", aspp_channels = 16, low_level_channels = 8, decoder_channels = 16}\n",
      "stages.toml");
  auto model = std::make_shared<Segmentor>(config.root().table("model"));
  const std::int64_t expected_strides[] = {4, 8, 16, 16};
  const std::int64_t expected_channels[] = {12 * 6, 16 * 6, 48 * 6, 160};
  for (int k = 0; k < 4; ++k) {
    const FeatureSpec& spec = model->feature_spec("backbone.layer" + std::to_string(k + 1), "k");
    EXPECT_EQ(spec.stride, expected_strides[k]) << k;
    EXPECT_EQ(spec.channels, expected_channels[k]) << k;
  }
  auto params = model->named_parameters();
  auto buffers = model->named_buffers();
  const auto expansion = [&](int block, const at::Tensor& x, bool training, at::Tensor mean, at::Tensor var) {
    const std::string p = "backbone.features." + std::to_string(block) + ".conv.";
    return torch::batch_norm(torch::conv2d(x, params[p + "0.weight"]), params[p + "1.weight"], params[p + "1.bias"], mean, var,
                             training, 0.1, 1e-5, false);
  };
  const at::Tensor images = torch::randn({2, 3, 64, 64});
  model->eval();
  torch::NoGradGuard no_grad;
  const auto eval_out = model->forward(images);
  const auto& f = eval_out.features;
  const std::string bn4 = "backbone.features.4.conv.1.";
  EXPECT_TRUE(segdistill_test::allclose("f.at('backbone.layer1') vs expansion(4, f.at('backbone.low_level'), fa",
                                        f.at("backbone.layer1"),
                                        expansion(4, f.at("backbone.low_level"), false, buffers[bn4 + "running_mean"].clone(),
                                                  buffers[bn4 + "running_var"].clone()),
                                        1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(f.at("backbone.layer4"), f.at("backbone.out")));
  // Without the option the network is the plain one: the same outputs, no stage features.
  const auto plain_config = Config::parse(
      "[model]\nnum_classes = 3\nbackbone = {type = \"mobilenetv2\", width = 0.5}\n"
      "head = {type = \"deeplabv3plus\", aspp_channels = 16, low_level_channels = 8, decoder_channels = 16}\n",
      "plain.toml");
  auto plain = std::make_shared<Segmentor>(plain_config.root().table("model"));
  load_state_dict(*plain, state_dict(*model), "stages");
  plain->eval();
  const auto plain_out = plain->forward(images);
  EXPECT_TRUE(segdistill_test::allclose("plain_out.logits vs eval_out.logits", plain_out.logits, eval_out.logits, 1e-5, 1e-5));
  EXPECT_EQ(plain_out.features.count("backbone.layer1"), 0u);

  // Training: features.4's BatchNorm first normalises the block's padded input, then the
  // unpadded stage input.
  model->train();
  const at::Tensor mean0 = buffers[bn4 + "running_mean"].clone(), var0 = buffers[bn4 + "running_var"].clone();
  const at::Tensor low = model->forward(images).features.at("backbone.low_level");
  at::Tensor mean = mean0.clone(), var = var0.clone();
  expansion(4, torch::constant_pad_nd(low, {1, 1, 1, 1}), true, mean, var);
  expansion(4, low, true, mean, var);
  EXPECT_TRUE(
      segdistill_test::allclose("buffers[bn4 + 'running_mean'] vs mean", buffers[bn4 + "running_mean"], mean, 1e-5, 1e-6));
  EXPECT_TRUE(segdistill_test::allclose("buffers[bn4 + 'running_var'] vs var", buffers[bn4 + "running_var"], var, 1e-5, 1e-6));
  // Once would not be it. (The variance tells: the stage input is a BatchNorm output in
  // training, so its channel means, and the expansion's, are zero either way.)
  at::Tensor once = mean0.clone(), once_var = var0.clone();
  expansion(4, torch::constant_pad_nd(low, {1, 1, 1, 1}), true, once, once_var);
  EXPECT_FALSE(torch::allclose(buffers[bn4 + "running_var"], once_var, 1e-3, 1e-4));
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

// MobileNetV2's ReLU6 backward (a one-pass kernel on bit patterns for float32 and bf16 on
// the CPU, masked_fill otherwise): the stem (features.0: convolution, BatchNorm, ReLU6)
// gives the float64 input gradient (which takes the masked_fill path) in float32, with
// the BatchNorm scaled so that about half the activations clamp at 0 and a seventh at 6,
// where the gradient must be zero.
TEST_F(Models, MobileNetV2Relu6GradientIsTheFloat64One) {
  torch::manual_seed(2);
  auto model = make_model("mobilenetv2", 16, 0.5, 4);
  model->train();
  auto* features = model->backbone().named_children()["features"]->as<torch::nn::SequentialImpl>();
  ASSERT_NE(features, nullptr);
  for (auto& module : features->ptr(0)->modules(false))
    if (auto* bn = module->as<segdistill::BatchNorm2d>()) bn->weight.data().fill_(4.0);
  const at::Tensor images = torch::randn({2, 3, 48, 48});
  const at::Tensor upstream = torch::randn({2, 16, 24, 24});
  const auto input_gradient = [&](at::ScalarType dtype) {
    model->to(dtype);
    const at::Tensor x = images.to(dtype).requires_grad_();
    const at::Tensor out = features->begin()->forward(x);
    out.backward(upstream.to(dtype));
    return std::make_pair(x.grad().to(at::kDouble), out.to(at::kDouble));
  };
  const auto [float64, out64] = input_gradient(at::kDouble);
  const auto [float32, out32] = input_gradient(at::kFloat);
  const double clamped = (out64.le(0) | out64.ge(6)).to(at::kDouble).mean().item<double>();
  EXPECT_GT(clamped, 0.4) << "the test needs clamped activations";
  EXPECT_GT(out64.ge(6).to(at::kDouble).mean().item<double>(), 0.05) << "the test needs activations clamped at 6";
  // A wrong mask (a clamped activation passing its gradient, or a kept one dropping it)
  // changes the gradient by tens of percent. The bound is 100 times the float32 rounding
  // of the forward output measured here.
  const double floor = segdistill_test::relative_difference(out32, out64);
  segdistill_test::expect_within("relative difference of the float32 and float64 input gradients",
                                 segdistill_test::relative_difference(float32, float64),
                                 segdistill_test::from_floor(floor, 100, 1e-6));
}

// PyTorch checkpoints written by Python's torch.save (python3-torch), imported here.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "model_test_support.hpp"
#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/checkpoint/pytorch_checkpoint.hpp"
#include "segdistill/core/error.hpp"
#include "test_support.hpp"
#include "tolerance.hpp"

using namespace segdistill;
using segdistill_test::error_of;
using segdistill_test::run_segdistill;
using segdistill_test::TempDir;

namespace {

const std::string kScript = std::string(SEGDISTILL_SOURCE_DIR) + "/tests/python/reference_deeplab.py";

void python(const std::string& args) {
  const std::string command = "/usr/bin/python3 " + kScript + " " + args;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

std::string config_for(const TempDir& dir, const std::string& backbone) {
  return dir.write(backbone + ".toml", "[model]\nnum_classes = 21\nbackbone = {type = \"" + backbone +
                                           "\", output_stride = 16}\nhead = {type = \"deeplabv3plus\"}\n");
}

// Writes a reference checkpoint with `python_args`, imports it and checks the logits.
void expect_parity(const std::string& backbone, const std::string& python_backbone, const std::string& python_args,
                   std::int64_t output_stride = 16) {
  TempDir dir;
  python("make --backbone " + python_backbone + " --out " + dir.path().string() + " " + python_args);
  const PyTorchStateDict file = read_pytorch_state_dict((dir.path() / "checkpoint.pt").string());
  auto model = segdistill_test::make_model(backbone, output_stride, 1.0, 21);
  load_state_dict(*model, file.tensors, "checkpoint.pt");
  model->eval();
  const PyTorchStateDict io = read_pytorch_state_dict((dir.path() / "io.pt").string());
  torch::NoGradGuard no_grad;
  const at::Tensor logits = model->forward(io.tensors.at("input")).logits;
  const at::Tensor expected = io.tensors.at("logits");
  ASSERT_EQ(logits.sizes(), expected.sizes());
  // The comparison means something only if the logits vary well above the tolerance.
  ASSERT_GT(expected.std().item<double>(), 0.05);
  const double difference = (logits - expected).abs().max().item<double>();
  EXPECT_TRUE(segdistill_test::within("logits vs PyTorch (max |a-b|)", difference, 1e-4))
      << backbone << " " << python_args << ": logits magnitude " << expected.abs().max().item<double>();
}

}  // namespace

class PyTorchImport : public segdistill_test::WithPlugins {};

TEST_F(PyTorchImport, ResNet18ZipOrderedDictAtTopLevelGivesTheSameLogits) {
  expect_parity("resnet18", "resnet18", "--format zip");
}

TEST_F(PyTorchImport, ResNet18LegacyUnderStateDictWithModulePrefix) {
  expect_parity("resnet18", "resnet18", "--format legacy --wrap state_dict --module-prefix");
}

TEST_F(PyTorchImport, ResNet101LegacyFormatGivesTheSameLogits) { expect_parity("resnet101", "resnet101", "--format legacy"); }

TEST_F(PyTorchImport, MobileNetV2PlainDictUnderModelInFloat64) {
  expect_parity("mobilenetv2", "mobilenet", "--format zip --wrap model --plain-dict --dtype float64");
}

TEST_F(PyTorchImport, XceptionGivesTheSameLogits) { expect_parity("xception", "xception", "--format zip"); }

TEST_F(PyTorchImport, DrnD54AtOutputStride8GivesTheSameLogits) {
  expect_parity("drn_d_54", "drn", "--format zip --wrap state_dict", 8);
}

TEST_F(PyTorchImport, EveryDtypeAndViewsInBothFormats) {
  for (const char* format : {"zip", "legacy"}) {
    TempDir dir;
    const std::string path = (dir.path() / "small.pt").string();
    python(std::string("small --format ") + format + " --out " + path);
    const PyTorchStateDict file = read_pytorch_state_dict(path);
    const at::Tensor base = torch::arange(12, torch::kDouble).reshape({3, 4}).div(4).to(torch::kFloat);
    for (const char* name : {"half", "double", "bfloat"}) {
      EXPECT_EQ(file.tensors.at(name).scalar_type(), at::kFloat) << name;
      EXPECT_TRUE(torch::equal(file.tensors.at(name), base)) << format << " " << name;
    }
    EXPECT_TRUE(torch::equal(file.tensors.at("column"), base.select(1, 1))) << format;
    EXPECT_EQ(file.tensors.at("long").scalar_type(), at::kLong);
    EXPECT_TRUE(torch::equal(file.tensors.at("long"), torch::arange(5)));
    EXPECT_EQ(file.tensors.at("int").scalar_type(), at::kInt);
    EXPECT_EQ(file.tensors.at("flag").scalar_type(), at::kBool);
    EXPECT_EQ(file.tensors.at("scalar").dim(), 0);
    EXPECT_EQ(file.tensors.at("scalar").item<int64_t>(), 7);
    EXPECT_NE(file.format.find(format), std::string::npos) << file.format;
  }
}

TEST_F(PyTorchImport, ImportExportRoundTripThroughTheCommandLine) {
  TempDir dir;
  python("make --backbone mobilenet --out " + dir.path().string() + " --format legacy --wrap state_dict");
  const std::string config = config_for(dir, "mobilenetv2");
  const std::string ckpt = (dir.path() / "imported.ckpt").string();
  const auto imported =
      run_segdistill({"import-checkpoint", config, "--from", (dir.path() / "checkpoint.pt").string(), "--output", ckpt});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_NE(imported.out.find("imported 668 of 668 tensors"), std::string::npos) << imported.out;
  const std::string exported = (dir.path() / "exported.pt").string();
  const auto out = run_segdistill({"export-checkpoint", config, "--checkpoint", ckpt, "--output", exported});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const std::string result = (dir.path() / "compare.txt").string();
  python("compare --backbone mobilenet --original " + (dir.path() / "checkpoint.pt").string() + " --exported " + exported +
         " > " + result);
  std::ifstream in(result);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "identical 668");
}

TEST_F(PyTorchImport, MismatchesAreReportedAndPartialLoadingIsExplicit) {
  TempDir dir;
  python("make --backbone resnet18 --out " + dir.path().string());
  const std::string checkpoint = (dir.path() / "checkpoint.pt").string();
  const std::string wrong = config_for(dir, "mobilenetv2");
  const auto refused =
      run_segdistill({"import-checkpoint", wrong, "--from", checkpoint, "--output", dir.path().string() + "/x.ckpt"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("does not fit the [model] network of " + wrong), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("missing from the file ("), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("not in the model ("), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("different shapes (file vs model) ("), std::string::npos) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "x.ckpt"));

  // Another class count: everything but the classifier fits.
  const std::string classes19 = dir.write("r18_19.toml",
                                          "[model]\nnum_classes = 19\nbackbone = {type = \"resnet18\"}\n"
                                          "head = {type = \"deeplabv3plus\"}\n");
  const auto partial = run_segdistill(
      {"import-checkpoint", classes19, "--from", checkpoint, "--output", dir.path().string() + "/p.ckpt", "--allow-partial"});
  ASSERT_EQ(partial.exit_code, 0) << partial.err;
  EXPECT_NE(partial.err.find("decoder.last_conv.8.weight [21, 256, 1, 1] vs [19, 256, 1, 1]"), std::string::npos) << partial.err;
  EXPECT_NE(partial.out.find("imported 174 of 176 tensors"), std::string::npos) << partial.out;
}

TEST_F(PyTorchImport, FilesThatAreNotStateDicts) {
  TempDir dir;
  const std::string text = dir.write("notes.pt", "just text");
  EXPECT_NE(error_of([&] { read_pytorch_state_dict(text); }).find("not a PyTorch checkpoint"), std::string::npos);
  const std::string tensor_file = (dir.path() / "tensor.pt").string();
  ASSERT_EQ(std::system(("/usr/bin/python3 -c \"import torch; torch.save(torch.zeros(2), '" + tensor_file + "')\"").c_str()), 0);
  EXPECT_NE(error_of([&] { read_pytorch_state_dict(tensor_file); }).find("holds a tensor, not a dict"), std::string::npos);
  const std::string other = (dir.path() / "other.pt").string();
  ASSERT_EQ(std::system(("/usr/bin/python3 -c \"import torch; torch.save({'epoch': 3, 'name': 'x'}, '" + other + "')\"").c_str()),
            0);
  EXPECT_NE(error_of([&] { read_pytorch_state_dict(other); }).find("no state dict found"), std::string::npos);
  // A truncated zip checkpoint.
  python("small --format zip --out " + (dir.path() / "full.pt").string());
  std::ifstream in(dir.path() / "full.pt", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string cut = dir.write("cut.pt", bytes.substr(0, bytes.size() / 2));
  EXPECT_NE(error_of([&] { read_pytorch_state_dict(cut); }).find(cut + ": "), std::string::npos);
}

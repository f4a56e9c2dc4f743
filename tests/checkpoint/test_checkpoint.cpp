#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "model_test_support.hpp"
#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/checkpoint/random_state.hpp"
#include "segdistill/core/error.hpp"
#include "test_support.hpp"

using namespace segdistill;
using segdistill_test::error_of;
using segdistill_test::make_model;

class Checkpoints : public segdistill_test::WithPlugins {};

TEST_F(Checkpoints, RoundTripRestoresEveryParameterAndBuffer) {
  segdistill_test::TempDir dir;
  auto model = make_model("resnet18", 16, 0.25, 3);
  model->train();
  model->forward(torch::randn({2, 3, 32, 32}));  // moves BatchNorm statistics off their initial values
  const Checkpoint checkpoint = model_checkpoint(*model, "[model]\nnum_classes = 3\n", 42);
  EXPECT_EQ(checkpoint.groups.size(), 1u);
  const std::string path = (dir.path() / "ckpt" / "iter_42.pt").string();
  save_checkpoint(checkpoint, path);

  const Checkpoint loaded = load_checkpoint(path);
  EXPECT_EQ(loaded.iteration, 42);
  EXPECT_EQ(loaded.text.at("config"), checkpoint.text.at("config"));
  auto fresh = make_model("resnet18", 16, 0.25, 3);
  load_state_dict(*fresh, loaded.groups.at("model"), path);
  const auto expected = state_dict(*model);
  const auto actual = state_dict(*fresh);
  ASSERT_EQ(expected.size(), actual.size());
  for (const auto& [name, tensor] : expected) EXPECT_TRUE(torch::equal(tensor, actual.at(name))) << name;
}

TEST_F(Checkpoints, AnotherModelIsRefusedNamingTheFirstKey) {
  auto small = make_model("resnet18", 16, 0.25, 3);
  auto other = make_model("resnet18", 16, 0.5, 3);
  const std::string message = error_of([&] { load_state_dict(*other, state_dict(*small), "small.pt"); });
  EXPECT_EQ(message.rfind("small.pt: checkpoint of another model: 'aspp.", 0), 0u) << message;
  EXPECT_NE(message.find("in the checkpoint,"), std::string::npos) << message;
  auto mobile = make_model("mobilenetv2", 16, 0.5, 3);
  const std::string across = error_of([&] { load_state_dict(*mobile, state_dict(*small), "small.pt"); });
  EXPECT_NE(across.find("small.pt: checkpoint of another model: "), std::string::npos) << across;
  EXPECT_NE(across.find("key(s) differ in all"), std::string::npos) << across;
}

TEST_F(Checkpoints, FailedWriteLeavesThePreviousFileIntact) {
  segdistill_test::TempDir dir;
  const std::string path = (dir.path() / "latest.pt").string();
  Checkpoint first;
  first.iteration = 1;
  first.groups["model"]["w"] = torch::ones({3});
  save_checkpoint(first, path);
  // Writes beyond 64 bytes fail (EFBIG), as on a full disk.
  Checkpoint second = first;
  second.iteration = 2;
  std::string message;
  {
    const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit previous{};
    getrlimit(RLIMIT_FSIZE, &previous);
    rlimit small = previous;
    small.rlim_cur = 64;
    setrlimit(RLIMIT_FSIZE, &small);
    message = error_of([&] { save_checkpoint(second, path); });
    setrlimit(RLIMIT_FSIZE, &previous);
    std::signal(SIGXFSZ, previous_handler);
  }
  EXPECT_NE(message.find(path + ": cannot write the checkpoint"), std::string::npos) << message;
  EXPECT_EQ(load_checkpoint(path).iteration, 1);
}

TEST_F(Checkpoints, OtherFilesAreNotCheckpoints) {
  segdistill_test::TempDir dir;
  const std::string text = dir.write("notes.pt", "hello");
  EXPECT_NE(error_of([&] { load_checkpoint(text); }).find(text + ": not a segdistill checkpoint"), std::string::npos);
  EXPECT_NE(error_of([&] { load_checkpoint(dir.path().string() + "/none.pt"); }).find("segdistill checkpoint not found"),
            std::string::npos);
  const std::string pickled = (dir.path() / "dict.pt").string();
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(c10::Dict<std::string, int64_t>()));
  std::ofstream(pickled, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  EXPECT_NE(error_of([&] { load_checkpoint(pickled); }).find("no segdistill format marker"), std::string::npos);
}

TEST_F(Checkpoints, PythonTorchLoadReadsThem) {
  segdistill_test::TempDir dir;
  Checkpoint checkpoint;
  checkpoint.iteration = 7;
  checkpoint.groups["model"]["layer.weight"] = torch::arange(6, torch::kFloat).reshape({2, 3});
  const std::string path = (dir.path() / "c.pt").string();
  save_checkpoint(checkpoint, path);
  const std::string script = dir.write("read.py",
                                       "import sys, torch\n"
                                       "c = torch.load(sys.argv[1])\n"
                                       "w = c['groups']['model']['layer.weight']\n"
                                       "print(c['format'], c['iteration'], tuple(w.shape), float(w.sum()))\n");
  const std::string out_file = (dir.path() / "out.txt").string();
  const std::string command = "/usr/bin/python3 '" + script + "' '" + path + "' > '" + out_file + "' 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "python3-torch could not read the checkpoint";
  std::ifstream in(out_file);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "segdistill_checkpoint 7 (2, 3) 15.0");
}

TEST_F(Checkpoints, ARandomStateGuardLeavesTheStreamWhereItWas) {
  torch::manual_seed(7);
  const at::Tensor start = cpu_random_state();
  {
    RandomStateGuard guard;
    torch::rand({1000});  // a network built here draws its initial weights
  }
  const at::Tensor after_guard = torch::rand({16});
  set_cpu_random_state(start, "the test's state");
  EXPECT_TRUE(torch::equal(after_guard, torch::rand({16})));
  EXPECT_EQ(cpu_random_state().numel(), cpu_random_state_size());
  const std::string refused =
      error_of([] { set_cpu_random_state(torch::zeros({3}, torch::kByte), "ckpt.pt: the random state 'rng/cpu'"); });
  EXPECT_NE(refused.find("ckpt.pt: the random state 'rng/cpu' has 3 Byte values, which is not a CPU generator state ("),
            std::string::npos)
      << refused;
}

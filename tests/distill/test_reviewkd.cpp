// ReviewKD against an independent Python implementation of the published formulas
// (tests/python/reviewkd_reference.py), in float64 at odd sizes; and the framework's
// feature lists that multi-level distillers are configured with.
#include <gtest/gtest.h>
#include <cmath>

#include <torch/torch.h>

#include "model_test_support.hpp"
#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/checkpoint/pytorch_checkpoint.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/distill/assembly.hpp"
#include "segdistill/distill/distiller.hpp"
#include "segdistill/plugin/loader.hpp"
#include "segdistill/plugin/registries.hpp"
#include "test_support.hpp"
#include "tolerance.hpp"

using namespace segdistill;
using segdistill_test::TempDir;

namespace {

constexpr int kLevels = 6;

class ReviewKd : public segdistill_test::WithPlugins {
 protected:
  static void SetUpTestSuite() {
    TempDir dir;
    const std::string out = (dir.path() / "reference.pt").string();
    const std::string command =
        "/usr/bin/python3 " + std::string(SEGDISTILL_SOURCE_DIR) + "/tests/python/reviewkd_reference.py '" + out + "'";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    reference_ = new TensorDict(read_pytorch_state_dict(out, /*keep_dtypes=*/true).tensors);
  }
  static void TearDownTestSuite() { delete reference_; }

  static const at::Tensor& ref(const std::string& name) { return reference_->at(name); }

  // The distiller on the reference's levels ("s<i>" of the student, "t<i>" of the
  // teacher), with the reference's weights, in float64.
  static std::shared_ptr<Distiller> make(const std::string& options) {
    DistillerContext context;
    context.config_key = "distillers.0";
    context.shared = &shared_;
    context.num_classes = 21;
    for (int i = 0; i < kLevels; ++i) {
      const std::int64_t stride = ref("s" + std::to_string(i)).size(2) == 17 ? 4 : 8;
      context.student_features.push_back({"s" + std::to_string(i), ref("s" + std::to_string(i)).size(1), stride});
      context.teacher_features.push_back({"t" + std::to_string(i), ref("t" + std::to_string(i)).size(1), stride});
    }
    const Config config = Config::parse("d = {type = \"reviewkd\", mid_channels = 6" + options + "}\n", "reviewkd.toml");
    auto distiller = distillers().create(config.root().table("d"), context);
    TensorDict weights;
    for (const auto& [name, tensor] : *reference_)
      if (name.rfind("abfs.", 0) == 0) weights[name] = tensor;
    distiller->to(torch::kDouble);
    load_state_dict(*distiller, weights, "reference");
    return distiller;
  }

  struct Step {
    std::map<std::string, at::Tensor> terms;
    std::vector<at::Tensor> student;  // with their gradients
  };
  static Step run(Distiller& distiller) {
    Step step;
    FeatureList t;
    for (int i = 0; i < kLevels; ++i) {
      step.student.push_back(ref("s" + std::to_string(i)).clone().requires_grad_());
      t.push_back(ref("t" + std::to_string(i)));
    }
    step.terms = distiller.distill(step.student, t);
    at::Tensor total = torch::zeros({}, torch::kDouble);
    for (const auto& [key, value] : step.terms) total = total + value;
    total.backward();
    return step;
  }

  static double relative(const at::Tensor& a, const at::Tensor& b) {
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-300)).item<double>();
  }

  static TensorDict* reference_;
  static SharedModules shared_;
};
TensorDict* ReviewKd::reference_ = nullptr;
SharedModules ReviewKd::shared_;

}  // namespace

TEST_F(ReviewKd, LossAndGradientsAreThePublishedOnes) {
  auto distiller = make("");
  EXPECT_TRUE(distillers().inputs("reviewkd").levels);
  const Step step = run(*distiller);
  ASSERT_EQ(step.terms.size(), static_cast<std::size_t>(kLevels));
  for (int i = 0; i < kLevels; ++i) {
    const double expected = ref("loss" + std::to_string(i)).item<double>();
    EXPECT_TRUE(segdistill_test::within("step.terms.at('s' + std::to_string(i)).item<double>() vs expected",
                                        std::abs((step.terms.at("s" + std::to_string(i)).item<double>()) - (expected)),
                                        1e-9 * expected))
        << "level " << i;
    EXPECT_TRUE(segdistill_test::within("relative(step.student[i].grad(), ref('grad.s' + std::to_string(i)))",
                                        relative(step.student[i].grad(), ref("grad.s" + std::to_string(i))), 1e-9))
        << "level " << i;
  }
  // The ABFs learn: every parameter's gradient is the reference's, and the BatchNorms'
  // running statistics moved as the reference's did.
  for (const auto& item : distiller->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_TRUE(segdistill_test::within("relative(item.value().grad(), ref('grad.' + item.key()))",
                                        relative(item.value().grad(), ref("grad." + item.key())), 1e-9))
        << item.key();
  }
  for (const auto& item : distiller->named_buffers()) {
    if (item.key().find("running_") == std::string::npos) continue;
    EXPECT_TRUE(segdistill_test::within("relative(item.value(), ref('after.' + item.key()))",
                                        relative(item.value(), ref("after." + item.key())), 1e-12))
        << item.key();
  }
}

TEST_F(ReviewKd, PublishedFrozenAbfKeepsItsParametersOutOfTraining) {
  auto distiller = make(", published_frozen_abf = true");
  for (const auto& p : distiller->parameters()) EXPECT_FALSE(p.requires_grad());
  const Step step = run(*distiller);
  // The student is taught as before; the ABFs get no gradient to be stepped with.
  for (int i = 0; i < kLevels; ++i)
    EXPECT_TRUE(segdistill_test::within("relative(step.student[i].grad(), ref('grad.s' + std::to_string(i)))",
                                        relative(step.student[i].grad(), ref("grad.s" + std::to_string(i))), 1e-9))
        << "level " << i;
  for (const auto& p : distiller->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST_F(ReviewKd, LevelsOfDifferentStridesAreAnErrorNamingThem) {
  DistillerContext context;
  context.config_key = "distillers.3";
  context.student_features = {{"backbone.layer1", 64, 4}};
  context.teacher_features = {{"backbone.layer2", 512, 8}};
  const Config config = Config::parse("d = {type = \"reviewkd\"}\n", "reviewkd.toml");
  const std::string message = segdistill_test::error_of([&] { distillers().create(config.root().table("d"), context); });
  EXPECT_NE(message.find("distillers.3"), std::string::npos) << message;
  EXPECT_NE(message.find("backbone.layer2 (stride 8)"), std::string::npos) << message;
}

TEST(DistillerKeys, ListsAreForLevelDistillersAndDefaultsFillWhatIsNotNamed) {
  PluginLoader::instance().load_directory(SEGDISTILL_BUILD_PLUGIN_DIR_FOR_TESTS);
  const auto keys_of = [](const std::string& type, const std::string& body) {
    const Config config = Config::parse("[[distillers]]\ntype = \"" + type + "\"\n" + body, "keys.toml");
    return read_distiller_keys(config.root().tables("distillers")[0]);
  };
  const DistillerKeys lists = keys_of("reviewkd",
                                      "student_features = [\"backbone.layer1\", \"head.decoder\"]\nteacher_features = "
                                      "[\"backbone.layer1\", \"head.decoder\"]\n");
  EXPECT_EQ(lists.student_names, (std::vector<std::string>{"backbone.layer1", "head.decoder"}));
  EXPECT_EQ(lists.teacher_names.size(), 2u);
  const DistillerKeys single = keys_of("fitnet", "student_feature = \"head.decoder\"\nteacher_feature = \"head.aspp\"\n");
  EXPECT_EQ(single.student_names, std::vector<std::string>{"head.decoder"});
  EXPECT_EQ(single.teacher_names, std::vector<std::string>{"head.aspp"});
  // kd declares the class scores as its default; a named feature replaces the default.
  EXPECT_EQ(keys_of("kd", "").student_names, std::vector<std::string>{"logits"});
  EXPECT_EQ(keys_of("kd", "teacher_feature = \"head.decoder\"\n").teacher_names, std::vector<std::string>{"head.decoder"});

  std::string message = segdistill_test::error_of(
      [&] { keys_of("reviewkd", "student_feature = \"a\"\nstudent_features = [\"a\"]\nteacher_feature = \"b\"\n"); });
  EXPECT_NE(message.find("both are set"), std::string::npos) << message;
  EXPECT_NE(message.find("keys.toml"), std::string::npos) << message;
  // fitnet declares no default: the message says what to give.
  message = segdistill_test::error_of([&] { keys_of("fitnet", "teacher_feature = \"b\"\n"); });
  EXPECT_NE(message.find("'fitnet' has no default student feature: give student_feature = \"NAME\""), std::string::npos)
      << message;
  // A one-pair distiller is refused lists before it is built, with the key named.
  message = segdistill_test::error_of([&] { keys_of("kd", "student_features = [\"a\"]\nteacher_features = [\"a\"]\n"); });
  EXPECT_NE(message.find("distillers.0.student_features"), std::string::npos) << message;
  EXPECT_NE(message.find("'kd' distils one feature pair"), std::string::npos) << message;
  message =
      segdistill_test::error_of([&] { keys_of("reviewkd", "student_features = [\"a\", \"b\"]\nteacher_features = [\"a\"]\n"); });
  EXPECT_NE(message.find("2 student features and 1 teacher features"), std::string::npos) << message;
  message = segdistill_test::error_of([&] { keys_of("reviewkd", "student_features = []\nteacher_features = []\n"); });
  EXPECT_NE(message.find("empty"), std::string::npos) << message;
  // The framework's keys are declared once: the registry reserves exactly the schema's.
  std::vector<std::string> reserved{"type"};
  for (const auto& field : schema_of<DistillerKeys>().fields) reserved.push_back(field.key);
  EXPECT_EQ(distillers().reserved_keys(), reserved);
}

#include <gtest/gtest.h>

#include "segdistill/config/config.hpp"
#include "segdistill/core/error.hpp"
#include "test_support.hpp"

using namespace segdistill;
using segdistill_test::TempDir;

namespace {

std::string load_error(const std::string& path, const std::vector<std::string>& overrides = {}) {
  try {
    Config::load(path, overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string value(const Config& config, const std::string& table_path, const std::string& key) {
  ConfigTable table = config.root();
  std::string rest = table_path;
  while (!rest.empty()) {
    const auto dot = rest.find('.');
    table = table.table(rest.substr(0, dot));
    rest = dot == std::string::npos ? "" : rest.substr(dot + 1);
  }
  return table.to_toml(key);
}

}  // namespace

TEST(ConfigBases, MergesTablesDeeplyAndReplacesArrays) {
  TempDir dir;
  dir.write("_base_/model.toml",
            "[model]\nnum_classes = 21\nbackbone = {type = \"resnet18\", output_stride = 16}\n"
            "[train]\nscales = [0.5, 2.0]\nlr = 0.007\n");
  const std::string child = dir.write("voc/run.toml",
                                      "_base_ = \"../_base_/model.toml\"\n[model]\nbackbone = {output_stride = 8}\n"
                                      "[train]\nscales = [1.0]\n");
  const Config config = Config::load(child);
  EXPECT_EQ(value(config, "model", "num_classes"), "21");
  EXPECT_EQ(value(config, "model.backbone", "type"), "\"resnet18\"");
  EXPECT_EQ(value(config, "model.backbone", "output_stride"), "8");
  EXPECT_EQ(value(config, "train", "scales"), "[1.0]");
  EXPECT_EQ(value(config, "train", "lr"), "0.007");
  EXPECT_FALSE(config.root().contains("_base_"));
}

TEST(ConfigBases, ListsMergeInOrderAndRecurseRelativeToEachFile) {
  TempDir dir;
  dir.write("a/deep/root.toml", "[x]\nfrom_root = 1\nwho = \"root\"\n");
  dir.write("a/first.toml", "_base_ = [\"deep/root.toml\"]\n[x]\nwho = \"first\"\nfirst = true\n");
  dir.write("b/second.toml", "[x]\nwho = \"second\"\n");
  const std::string top = dir.write("top.toml", "_base_ = [\"a/first.toml\", \"b/second.toml\"]\n[y]\nz = 1\n");
  const Config config = Config::load(top);
  EXPECT_EQ(value(config, "x", "from_root"), "1");
  EXPECT_EQ(value(config, "x", "first"), "true");
  EXPECT_EQ(value(config, "x", "who"), "\"second\"");
  EXPECT_EQ(value(config, "y", "z"), "1");
}

TEST(ConfigBases, DeleteReplacesAnInheritedTable) {
  TempDir dir;
  dir.write("base.toml", "[model]\nbackbone = {type = \"resnet18\", output_stride = 16}\n");
  const std::string child =
      dir.write("child.toml", "_base_ = \"base.toml\"\n[model.backbone]\n_delete_ = true\ntype = \"mobilenetv2\"\n");
  const Config config = Config::load(child);
  EXPECT_EQ(config.root().table("model").table("backbone").keys(), (std::vector<std::string>{"type"}));
}

TEST(ConfigBases, KeepsTheLineOfEveryValue) {
  TempDir dir;
  const std::string base = dir.write("base.toml", "[model]\n\nnum_classes = 21\n");
  const std::string child = dir.write("child.toml", "_base_ = \"base.toml\"\n[model]\nwidth = 2\n");
  const Config config = Config::load(child);
  EXPECT_EQ(config.root().table("model").where("num_classes"), base + ":3");
  EXPECT_EQ(config.root().table("model").where("width"), child + ":3");
}

TEST(ConfigBases, CyclesAreReportedWithTheChain) {
  TempDir dir;
  const std::string a = dir.write("a.toml", "_base_ = \"b.toml\"\n");
  dir.write("b.toml", "_base_ = \"c.toml\"\n");
  dir.write("c.toml", "_base_ = \"a.toml\"\n");
  const std::string message = load_error(a);
  EXPECT_NE(message.find("c.toml:1: _base_: inheritance cycle: "), std::string::npos) << message;
  EXPECT_NE(message.find("a.toml -> "), std::string::npos) << message;
  EXPECT_NE(message.find("b.toml -> "), std::string::npos) << message;
  EXPECT_NE(message.find("c.toml -> "), std::string::npos) << message;
  const std::string self = dir.write("self.toml", "_base_ = \"self.toml\"\n");
  EXPECT_NE(load_error(self).find("inheritance cycle"), std::string::npos);
}

TEST(ConfigBases, MissingOrMalformedBase) {
  TempDir dir;
  const std::string missing = dir.write("m.toml", "\n_base_ = \"nope.toml\"\n");
  const std::string message = load_error(missing);
  EXPECT_NE(message.find(missing + ":2: _base_: file 'nope.toml' not found"), std::string::npos) << message;
  const std::string wrong = dir.write("w.toml", "_base_ = 3\n");
  EXPECT_NE(load_error(wrong).find("_base_: expected a path or an array of paths"), std::string::npos);
}

TEST(ConfigParse, SyntaxErrorsGiveFileLineColumn) {
  TempDir dir;
  const std::string bad = dir.write("bad.toml", "[model]\nnum_classes = = 3\n");
  const std::string message = load_error(bad);
  EXPECT_EQ(message.rfind(bad + ":2:", 0), 0u) << message;
  EXPECT_NE(message.find("invalid TOML"), std::string::npos) << message;
  EXPECT_NE(load_error((dir.path() / "absent.toml").string()).find("absent.toml: config file not found"), std::string::npos);
}

TEST(ConfigOverrides, ValuesAreParsedAsToml) {
  TempDir dir;
  const std::string file = dir.write("c.toml", "[train]\nlr = 0.1\n[[distillers]]\ntype = \"kd\"\nweight = 1.0\n");
  const Config config = Config::load(
      file, {"train.lr=0.01", "train.iters=100", "model.backbone={type=\"resnet18\"}", "model.backbone.type=mobilenetv2",
             "distillers.0.weight=0.5", "train.scales=[0.5, 1.0]", "train.name='run one'"});
  EXPECT_EQ(value(config, "train", "lr"), "0.01");
  EXPECT_EQ(config.root().table("train").type_of("lr"), "float");
  EXPECT_EQ(config.root().table("train").type_of("iters"), "integer");
  EXPECT_EQ(value(config, "model.backbone", "type"), "\"mobilenetv2\"");
  EXPECT_EQ(config.root().tables("distillers")[0].to_toml("weight"), "0.5");
  EXPECT_EQ(value(config, "train", "scales"), "[0.5, 1.0]");
  EXPECT_EQ(value(config, "train", "name"), "\"run one\"");
  EXPECT_EQ(config.root().table("train").where("lr"), "--set train.lr:1");
}

TEST(ConfigOverrides, ErrorsNameTheAssignment) {
  TempDir dir;
  const std::string file = dir.write("c.toml", "[train]\nlr = 0.1\n[[distillers]]\ntype = \"kd\"\n");
  EXPECT_NE(load_error(file, {"train.lr"}).find("--set train.lr: expected KEY=VALUE"), std::string::npos);
  EXPECT_NE(load_error(file, {"train..lr=1"}).find("invalid key 'train..lr'"), std::string::npos);
  EXPECT_NE(load_error(file, {"train.lr.x=1"}).find("train.lr is a float, not a table"), std::string::npos);
  EXPECT_NE(load_error(file, {"distillers.3.weight=1"}).find("the array has 1 elements"), std::string::npos);
  EXPECT_NE(load_error(file, {"train.name=two words"}).find("is not a TOML value"), std::string::npos);
}

TEST(ConfigPrint, ResolvedConfigLoadsBackToTheSame) {
  TempDir dir;
  dir.write("base.toml",
            "[model]\nnum_classes = 21\nbackbone = {type = \"resnet18\", width = 0.25}\n[train]\nlr = 1e-3\n"
            "scales = [0.5, 1.0, 2.0]\nname = \"it's \\\"quoted\\\"\"\nflag = true\n[[distillers]]\ntype = \"tat\"\n"
            "patches = [16, 16]\n[[distillers]]\ntype = \"kd\"\ntemperature = 4.0\n");
  const std::string child = dir.write("child.toml", "_base_ = \"base.toml\"\n[train]\nlr = 0.007\n");
  const Config first = Config::load(child, {"train.big=12345678901"});
  const std::string printed = first.to_toml();
  const std::string saved = (dir.path() / "resolved.toml").string();
  first.save(saved);
  const Config second = Config::load(saved);
  EXPECT_EQ(second.to_toml(), printed);
  EXPECT_EQ(second.root().table("train").to_toml("lr"), "0.007");
  EXPECT_EQ(second.root().tables("distillers").size(), 2u);
  EXPECT_EQ(second.root().tables("distillers")[1].to_toml("temperature"), "4.0");
}

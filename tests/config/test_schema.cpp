#include <gtest/gtest.h>

#include "segdistill/config/config.hpp"
#include "segdistill/config/schema.hpp"
#include "segdistill/core/error.hpp"

using namespace segdistill;

namespace {

struct CropOptions {
  std::int64_t size;
  double ratio;
  bool flip;
  std::string mode;
  std::vector<std::int64_t> grid;
  std::vector<double> scales;
  std::vector<std::string> names;
  std::optional<std::string> checkpoint;
  ConfigTable extra;
  static void declare(Schema<CropOptions>& s) {
    s.field("size", &CropOptions::size, "crop size in pixels").required().range(1, 4096);
    s.field("ratio", &CropOptions::ratio, "keep ratio").default_value(0.5).range(0.0, 1.0);
    s.field("flip", &CropOptions::flip, "mirror").default_value(true);
    s.field("mode", &CropOptions::mode, "how to crop").default_value(std::string("whole")).one_of({"whole", "slide"});
    s.field("grid", &CropOptions::grid, "grid cells").default_value(std::vector<std::int64_t>{2, 2}).at_least(1);
    s.field("scales", &CropOptions::scales, "scales").default_value(std::vector<double>{1.0});
    s.field("names", &CropOptions::names, "names").default_value(std::vector<std::string>{});
    s.field("checkpoint", &CropOptions::checkpoint, "optional weights");
    s.field("extra", &CropOptions::extra, "free table");
  }
};

CropOptions parse(const std::string& text) {
  return parse_options<CropOptions>(Config::parse(text, "crop.toml").root().table("crop"));
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Schema, DefaultsFillAbsentKeys) {
  const CropOptions o = parse("[crop]\nsize = 513\n");
  EXPECT_EQ(o.size, 513);
  EXPECT_DOUBLE_EQ(o.ratio, 0.5);
  EXPECT_TRUE(o.flip);
  EXPECT_EQ(o.mode, "whole");
  EXPECT_EQ(o.grid, (std::vector<std::int64_t>{2, 2}));
  EXPECT_FALSE(o.checkpoint.has_value());
  EXPECT_TRUE(o.extra.empty());
}

TEST(Schema, ReadsEveryTypeAndWidensIntegersToFloats) {
  const CropOptions o = parse(
      "[crop]\nsize = 321\nratio = 1\nflip = false\nmode = \"slide\"\ngrid = [4, 8]\nscales = [0.5, 1, 1.5]\n"
      "names = [\"a\", \"b\"]\ncheckpoint = \"w.pt\"\nextra = {k = 1}\n");
  EXPECT_EQ(o.size, 321);
  EXPECT_DOUBLE_EQ(o.ratio, 1.0);
  EXPECT_FALSE(o.flip);
  EXPECT_EQ(o.mode, "slide");
  EXPECT_EQ(o.grid, (std::vector<std::int64_t>{4, 8}));
  EXPECT_EQ(o.scales, (std::vector<double>{0.5, 1.0, 1.5}));
  EXPECT_EQ(o.names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*o.checkpoint, "w.pt");
  EXPECT_EQ(o.extra.path(), "crop.extra");
  EXPECT_TRUE(o.extra.contains("k"));
}

TEST(Schema, UnknownKeyNamesFileLinePathAndSuggestion) {
  EXPECT_EQ(error_of("[crop]\nsize = 3\nratoi = 0.1\n"),
            "crop.toml:3: crop.ratoi: unknown key 'ratoi' (did you mean 'ratio'?); valid keys: checkpoint, extra, flip, grid, "
            "mode, names, ratio, scales, size");
}

TEST(Schema, WrongTypeNamesExpectedAndActual) {
  EXPECT_EQ(error_of("[crop]\nsize = \"big\"\n"),
            "crop.toml:2: crop.size: expected integer, got string \"big\" (crop size in pixels)");
  EXPECT_EQ(error_of("[crop]\nsize = 1.5\n"), "crop.toml:2: crop.size: expected integer, got float 1.5 (crop size in pixels)");
  EXPECT_EQ(error_of("[crop]\nsize = 3\ngrid = [1, \"x\"]\n"),
            "crop.toml:3: crop.grid: expected array of integers, got string at index 1 \"x\" (grid cells)");
}

TEST(Schema, MissingRequiredKey) {
  EXPECT_EQ(error_of("[crop]\nratio = 0.1\n"), "crop.toml:1: missing required key 'crop.size' (integer: crop size in pixels)");
}

TEST(Schema, AllowedValuesAndRanges) {
  EXPECT_EQ(error_of("[crop]\nsize = 3\nmode = \"slid\"\n"),
            "crop.toml:3: crop.mode: invalid value \"slid\" (did you mean \"slide\"?); valid values: \"whole\", \"slide\"");
  EXPECT_EQ(error_of("[crop]\nsize = 0\n"),
            "crop.toml:2: crop.size: value 0 out of range: must be between 1.0 and 4096.0 (crop size in pixels)");
  EXPECT_EQ(error_of("[crop]\nsize = 3\ngrid = [2, 0]\n"),
            "crop.toml:3: crop.grid: value [2, 0] out of range: must be at least 1.0 (grid cells)");
}

TEST(Schema, SpecDescribesTheDeclaration) {
  const SchemaSpec& spec = schema_of<CropOptions>();
  ASSERT_EQ(spec.fields.size(), 9u);
  EXPECT_EQ(spec.fields[0].key, "size");
  EXPECT_TRUE(spec.fields[0].required);
  EXPECT_EQ(spec.fields[3].type, ValueType::String);
  EXPECT_EQ(value_to_text(spec.fields[3].default_value), "\"whole\"");
  EXPECT_EQ(spec.fields[3].allowed.size(), 2u);
  EXPECT_TRUE(spec.fields[7].optional);
  EXPECT_EQ(value_to_text(spec.fields[4].default_value), "[2, 2]");
}

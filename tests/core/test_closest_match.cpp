#include <gtest/gtest.h>

#include "segdistill/core/check.hpp"
#include "segdistill/core/closest_match.hpp"
#include "segdistill/core/error.hpp"

using namespace segdistill;

TEST(EditDistance, CountsInsertionsDeletionsSubstitutions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("resnet81", "resnet18"), 1u);  // one swap
  EXPECT_EQ(edit_distance("ca", "abc"), 3u);
}

TEST(ClosestMatch, SuggestsTyposOnly) {
  const std::vector<std::string> names{"resnet101", "resnet18", "resnet50", "mobilenetv2"};
  EXPECT_EQ(closest_match("resnet81", names), "resnet18");
  EXPECT_EQ(closest_match("mobilenet_v2", names), "mobilenetv2");
  EXPECT_FALSE(closest_match("vgg", names).has_value());
  EXPECT_FALSE(closest_match("x", {}).has_value());
}

TEST(DescribeChoices, SortedWithClosestFirst) {
  EXPECT_EQ(describe_choices("resnet81", {"resnet50", "mobilenetv2", "resnet18"}), "resnet18, mobilenetv2, resnet50");
  EXPECT_EQ(describe_choices("zzz", {"b", "a"}), "a, b");
  EXPECT_EQ(describe_choices("zzz", {}), "(none registered)");
}

TEST(UnknownName, OneMessageShapeForEveryUnknownName) {
  EXPECT_EQ(UnknownName("f.toml:2: model.backbone.type: unknown backbone", "resnet81", {"resnet50", "mobilenetv2", "resnet18"})
                .listed_as("available backbones")
                .message(),
            "f.toml:2: model.backbone.type: unknown backbone 'resnet81' (did you mean 'resnet18'?); available backbones: "
            "resnet18, mobilenetv2, resnet50");
  EXPECT_EQ(UnknownName("unknown key", "zzz", {"b", "a"}).order(ChoiceOrder::kSorted).message(),
            "unknown key 'zzz'; valid names: a, b");
  EXPECT_EQ(UnknownName("no feature", "head.decodr", {"logits", "head.decoder"}).order(ChoiceOrder::kAsGiven).message(),
            "no feature 'head.decodr' (did you mean 'head.decoder'?); valid names: logits, head.decoder");
  EXPECT_EQ(UnknownName("invalid value", "\"slid\"", {"\"whole\"", "\"slide\""})
                .unquoted()
                .order(ChoiceOrder::kAsGiven)
                .listed_as("valid values")
                .message(),
            "invalid value \"slid\" (did you mean \"slide\"?); valid values: \"whole\", \"slide\"");
  EXPECT_EQ(UnknownName("unknown key", "x", {}).when_none_valid("this table takes no keys").message(),
            "unknown key 'x'; this table takes no keys");
  EXPECT_THROW(UnknownName("unknown", "x", {"y"}).raise(), Error);
}

TEST(Require, FormatsOnlyWhenTheConditionFails) {
  EXPECT_NO_THROW(require(true, "never {}", 1));
  try {
    require(2 + 2 == 5, "train.batch_size = {} is not divisible by {} ranks", 6, 4);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "train.batch_size = 6 is not divisible by 4 ranks");
  }
}

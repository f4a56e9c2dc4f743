#include <gtest/gtest.h>

#include "segdistill/closest_match.hpp"

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

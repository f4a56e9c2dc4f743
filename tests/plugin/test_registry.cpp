#include <gtest/gtest.h>

#include "segdistill/config/config.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/plugin/registry.hpp"
#include "test_support.hpp"

using namespace segdistill;
using segdistill_test::error_of;

namespace {

struct Widget {
  std::string name;
  std::int64_t size;
};

struct WidgetOptions {
  std::int64_t size;
  static void declare(Schema<WidgetOptions>& s) { s.field("size", &WidgetOptions::size, "widget size").default_value(3); }
};

using WidgetRegistry = Registry<Widget, const std::string&>;

void add_widget(WidgetRegistry& registry, const std::string& name, const std::string& origin) {
  registry.add({name, "a widget", origin, schema_of<WidgetOptions>()},
               [name](const ConfigTable& table, const std::string& prefix) {
                 return std::make_shared<Widget>(Widget{prefix + name, parse_options<WidgetOptions>(table, {"type"}).size});
               });
}

}  // namespace

TEST(Registry, CreatesWithOptionsAndArguments) {
  WidgetRegistry registry("widgets", "widget");
  add_widget(registry, "round", "plugin 'a'");
  const Config config = Config::parse("w = {type = \"round\", size = 7}", "inline.toml");
  auto widget = registry.create(config.root().table("w"), "my_");
  EXPECT_EQ(widget->name, "my_round");
  EXPECT_EQ(widget->size, 7);
}

TEST(Registry, DuplicateNamesBothOrigins) {
  WidgetRegistry registry("widgets", "widget");
  add_widget(registry, "round", "plugin 'a' (/x/a.so)");
  const std::string message = error_of([&] { add_widget(registry, "round", "plugin 'b' (/x/b.so)"); });
  EXPECT_NE(message.find("widget 'round' is registered twice"), std::string::npos) << message;
  EXPECT_NE(message.find("plugin 'a' (/x/a.so)"), std::string::npos) << message;
  EXPECT_NE(message.find("plugin 'b' (/x/b.so)"), std::string::npos) << message;
  EXPECT_EQ(registry.info("round").origin, "plugin 'a' (/x/a.so)");
}

TEST(Registry, UnknownNameGivesPathNameChoicesAndClosest) {
  WidgetRegistry registry("widgets", "widget");
  for (const char* name : {"square", "round", "oval"}) add_widget(registry, name, "plugin 'a'");
  const Config config = Config::parse("[part]\nw = {type = \"rond\"}\n", "parts.toml");
  const std::string message = error_of([&] { registry.create(config.root().table("part").table("w"), ""); });
  EXPECT_EQ(message,
            "parts.toml:2: part.w.type: unknown widget 'rond' (did you mean 'round'?); available widgets: round, oval, square");
}

TEST(Registry, ListingIsSortedAndRemovableByOrigin) {
  WidgetRegistry registry("widgets", "widget");
  add_widget(registry, "c", "plugin 'one'");
  add_widget(registry, "a", "plugin 'two'");
  add_widget(registry, "b", "plugin 'one'");
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"a", "b", "c"}));
  registry.remove_origin("plugin 'one'");
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"a"}));
  const Config config = Config::parse("w = {type = \"b\"}", "inline.toml");
  EXPECT_THROW(registry.create(config.root().table("w"), ""), Error);
}

TEST(Registry, ValidateChecksKeysWithoutBuilding) {
  WidgetRegistry registry("widgets", "widget");
  add_widget(registry, "round", "plugin 'a'");
  const Config good = Config::parse("w = {type = \"round\", size = 2}", "good.toml");
  EXPECT_NO_THROW(registry.validate(good.root().table("w")));
  const Config bad = Config::parse("w = {type = \"round\", sise = 2}", "bad.toml");
  const std::string message = error_of([&] { registry.validate(bad.root().table("w")); });
  EXPECT_NE(message.find("bad.toml:1: w.sise: unknown key 'sise' (did you mean 'size'?)"), std::string::npos) << message;
  const Config untyped = Config::parse("w = {size = 2}", "untyped.toml");
  EXPECT_NE(error_of([&] { registry.validate(untyped.root().table("w")); }).find("missing required key 'type'"),
            std::string::npos);
}

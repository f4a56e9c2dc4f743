#include <gtest/gtest.h>

#include <filesystem>

#include "segdistill/config/config.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/modeling/backbone.hpp"
#include "segdistill/plugin/loader.hpp"
#include "segdistill/plugin/plugin_api.hpp"
#include "test_support.hpp"

using namespace segdistill;
using segdistill_test::test_plugin_dir;
using segdistill_test::test_plugin_file;

namespace {
std::string load_error(const std::string& path) {
  try {
    PluginLoader::instance().load(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST(PluginLoader, GoodPluginRegistersWorkingComponents) {
  const LoadedPlugin* plugin = PluginLoader::instance().load(test_plugin_file("good", "test_good"));
  ASSERT_NE(plugin, nullptr);
  EXPECT_EQ(plugin->name, "test_good");
  EXPECT_EQ(plugin->version, "1.2.3");
  EXPECT_EQ(plugin->torch_version, build::kTorchVersion);
  ASSERT_TRUE(backbones().contains("tiny_test_backbone"));
  EXPECT_NE(backbones().info("tiny_test_backbone").origin.find("plugin 'test_good' ("), std::string::npos);

  const Config config = Config::parse("b = {type = \"tiny_test_backbone\", channels = 5, stride = 2}", "b.toml");
  std::shared_ptr<Backbone> backbone = backbones().create(config.root().table("b"));
  const FeatureMap features = backbone->forward(torch::zeros({1, 3, 16, 16}));
  EXPECT_EQ(features.at("out").sizes(), (std::vector<int64_t>{1, 5, 8, 8}));
  EXPECT_EQ(backbone->output_specs().at(0).channels, 5);
}

TEST(PluginLoader, LoadingTwiceIsANoOp) {
  auto& loader = PluginLoader::instance();
  const LoadedPlugin* first = loader.load(test_plugin_file("good", "test_good"));
  const LoadedPlugin* second = loader.load(test_plugin_dir("good") + "/../good/segdistill_test_good.so");
  EXPECT_EQ(first, second);
  EXPECT_EQ(loader.loaded().size(), 1u);
}

TEST(PluginLoader, WrongApiVersionIsRefusedWithBothVersions) {
  const std::string path = test_plugin_file("wrong_api", "test_wrong_api");
  EXPECT_EQ(load_error(path), "plugin " + path +
                                  ": built for segdistill SDK API version 999, but this segdistill supports API version " +
                                  std::to_string(kSdkApiVersion) +
                                  "; rebuild the plugin against this SDK (refused before loading: none of its code ran)");
  EXPECT_TRUE(PluginLoader::instance().loaded().empty());
}

// A plugin of the previous API is told what changed, not only that something did.
TEST(PluginLoader, AnApi5PluginIsToldWhatApi6Changed) {
  const std::string path = test_plugin_file("api5", "test_api5");
  const std::string message = load_error(path);
  EXPECT_EQ(message.rfind("plugin " + path +
                              ": built for segdistill SDK API version 5, but this segdistill supports API version 6. "
                              "API 6 changed: Distiller::distill takes the batch's labels",
                          0),
            0u)
      << message;
  for (const char* change : {"LabelledPairDistiller", "ignore_index and seed", "after_student_step", "self_stepped_parameters",
                             "plugins/examples/README.md", "none of its code ran"})
    EXPECT_NE(message.find(change), std::string::npos) << change << " missing from: " << message;
  EXPECT_TRUE(PluginLoader::instance().loaded().empty());
}

// The version comes from the file's ELF note: a plugin of another version is refused
// before the dynamic loader could run its constructors.
TEST(PluginLoader, AForeignPluginsConstructorNeverRuns) {
  segdistill_test::TempDir dir;
  const std::string marker = (dir.path() / "constructor_ran").string();
  const std::string path = test_plugin_file("trojan", "test_trojan");
  const auto r = segdistill_test::run_segdistill({"plugins", "--plugin-dir", test_plugin_dir("trojan")},
                                                 "SEGDISTILL_TROJAN_MARKER=" + marker);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("plugin " + path + ": built for segdistill SDK API version 999"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the plugin's constructor ran before it was refused";
  // The same library, loaded anyway, does run it: the marker is a real probe.
  const auto probe = segdistill_test::run_program("/usr/bin/python3", {"-c", "import ctypes,sys; ctypes.CDLL(sys.argv[1])", path},
                                                  "SEGDISTILL_TROJAN_MARKER=" + marker);
  EXPECT_EQ(probe.exit_code, 0) << probe.err;
  EXPECT_TRUE(std::filesystem::exists(marker));
}

TEST(PluginLoader, ALibraryWithoutAVersionNoteIsRefusedUnloaded) {
  const std::string path = test_plugin_file("no_note", "test_no_note");
  const std::string message = load_error(path);
  EXPECT_EQ(message.rfind("plugin " + path + ": no segdistill version note (section .note.segdistill)", 0), 0u) << message;
}

TEST(PluginLoader, WrongLibTorchVersionIsRefused) {
  const std::string path = test_plugin_file("wrong_torch", "test_wrong_torch");
  const std::string message = load_error(path);
  EXPECT_NE(message.find("plugin " + path + " was built for LibTorch 0.4.1"), std::string::npos) << message;
  EXPECT_NE(message.find(std::string("but this segdistill uses LibTorch ") + build::kTorchVersion), std::string::npos) << message;
}

TEST(PluginLoader, LibraryWithoutEntryPoint) {
  const std::string path = test_plugin_file("no_entry", "test_no_entry");
  EXPECT_EQ(load_error(path), "plugin " + path +
                                  ": no segdistill entry point (symbol 'segdistill_plugin_entry'); a plugin must define "
                                  "one with SEGDISTILL_PLUGIN(name, version, register_function)");
}

TEST(PluginLoader, TextFileNamedSoIsNotALibrary) {
  segdistill_test::TempDir dir;
  const std::string path = dir.write("segdistill_fake.so", "this is not an ELF file\n");
  const std::string message = load_error(path);
  EXPECT_EQ(message, "plugin " + path + ": not a shared library (no ELF header)") << message;
  EXPECT_NE(load_error(dir.path().string() + "/absent.so").find("file not found"), std::string::npos);
}

TEST(PluginLoader, ThrowingRegistrationLeavesNothingBehind) {
  const std::string path = test_plugin_file("throwing", "test_throwing");
  const std::string message = load_error(path);
  EXPECT_EQ(message,
            "plugin " + path + ": registration of plugin 'test_throwing' failed: cannot find the weights file this plugin needs");
  EXPECT_FALSE(backbones().contains("half_registered_backbone"));
  EXPECT_TRUE(PluginLoader::instance().loaded().empty());
}

TEST(PluginLoader, DuplicateNameAcrossPluginsNamesBoth) {
  PluginLoader::instance().load(test_plugin_file("good", "test_good"));
  const std::string message = load_error(test_plugin_file("duplicate", "test_duplicate"));
  EXPECT_NE(message.find("backbone 'tiny_test_backbone' is registered twice: first by plugin 'test_good'"), std::string::npos)
      << message;
  EXPECT_NE(message.find("again by plugin 'test_duplicate'"), std::string::npos) << message;
  // The good plugin's entry survives the failed one.
  EXPECT_NE(backbones().info("tiny_test_backbone").origin.find("test_good"), std::string::npos);
}

TEST(PluginLoader, DirectoriesLoadOnlyPluginFiles) {
  segdistill_test::TempDir dir;
  dir.write("README.txt", "not a plugin");
  dir.write("libother.so", "not a plugin either, and not named like one");
  EXPECT_NO_THROW(PluginLoader::instance().load_directory(dir.path().string()));
  EXPECT_TRUE(PluginLoader::instance().loaded().empty());
  PluginLoader::instance().load_directory(test_plugin_dir("good"));
  EXPECT_EQ(PluginLoader::instance().loaded().size(), 1u);
  EXPECT_THROW(PluginLoader::instance().load_directory(dir.path().string() + "/missing"), Error);
}

TEST(PluginSearchPath, OrderIsCliEnvironmentConfigThenDefaults) {
  ::setenv("SEGDISTILL_PLUGIN_PATH", "/env/one::/env/two", 1);
  const auto dirs = plugin_search_path({"/cli"}, {"/config"});
  ::unsetenv("SEGDISTILL_PLUGIN_PATH");
  ASSERT_GE(dirs.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(dirs.begin(), dirs.begin() + 4),
            (std::vector<std::string>{"/cli", "/env/one", "/env/two", "/config"}));
  // The tests run from the build tree: its plugin folder comes last.
  EXPECT_EQ(dirs.back(), SEGDISTILL_BUILD_PLUGIN_DIR_FOR_TESTS);
}

TEST(PluginNames, FollowTheConvention) {
  EXPECT_TRUE(is_plugin_filename("segdistill_tat.so"));
  EXPECT_FALSE(is_plugin_filename("libsegdistill.so"));
  EXPECT_FALSE(is_plugin_filename("segdistill_.so"));
  EXPECT_FALSE(is_plugin_filename("segdistill_tat.so.1"));
}

#pragma once
// The plugin contract. A plugin is a shared library that defines one entry point with
//
//   SEGDISTILL_PLUGIN("my_plugin", "1.0.0", register_my_plugin)
//
// where `void register_my_plugin(segdistill::PluginRegistrar&)` adds its components to
// the registries. The host reads the descriptor the entry point returns, checks the SDK
// API version and the build signature, and only then calls the register function.
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <torch/version.h>
#include <boost/dll/alias.hpp>

#include "segdistill/config/schema.hpp"
#include "segdistill/core/api.hpp"
#include "segdistill/plugin/registries.hpp"

namespace segdistill {

class PluginRegistrar;

// Plain data so that it can be read before anything else about the plugin is trusted.
// New fields go at the end; api_version comes first forever.
struct PluginDescriptor {
  std::uint32_t api_version;
  const char* name;
  const char* version;
  const char* compiler;       // compiler and version the plugin was built with
  const char* torch_version;  // LibTorch version of its headers
  int cxx11_abi;              // _GLIBCXX_USE_CXX11_ABI (-1 when not libstdc++)
  void (*register_components)(PluginRegistrar&);
};

// The SDK API version again, as an ELF note in section .note.segdistill. The host reads it
// from the file before loading the library: loading runs the library's constructors, so
// a plugin of another API version must be refused without loading it.
struct PluginVersionNote {
  std::uint32_t name_size;  // 11: "segdistill" and its NUL
  std::uint32_t desc_size;  // 4: the version
  std::uint32_t type;       // kPluginVersionNoteType
  char name[12];
  std::uint32_t api_version;
};
inline constexpr std::uint32_t kPluginVersionNoteType = 0x5344;  // "SD"
inline constexpr const char* kPluginVersionNoteSection = ".note.segdistill";

#if defined(__has_attribute)
#if __has_attribute(retain)
#define SEGDISTILL_KEEP_SECTION used, retain
#endif
#endif
#ifndef SEGDISTILL_KEEP_SECTION
#define SEGDISTILL_KEEP_SECTION used
#endif

// Emits the version note; SEGDISTILL_PLUGIN does this. Only a plugin that writes its
// descriptor by hand (as the loader's tests do) uses it directly.
#define SEGDISTILL_PLUGIN_VERSION_NOTE(API_VERSION)                                                                 \
  namespace {                                                                                                       \
  __attribute__((section(".note.segdistill"), SEGDISTILL_KEEP_SECTION, aligned(4)))                                 \
  const ::segdistill::PluginVersionNote segdistill_plugin_version_note{11, 4, ::segdistill::kPluginVersionNoteType, \
                                                                       "segdistill", API_VERSION};                  \
  }

using PluginEntryPoint = const PluginDescriptor* (*)();
inline constexpr const char* kPluginEntrySymbol = "segdistill_plugin_entry";

// What this translation unit is compiled with; the host compares a plugin's with its own.
namespace build {
#if defined(__clang__)
inline constexpr const char* kCompiler = "clang " __clang_version__;
#elif defined(__GNUC__)
inline constexpr const char* kCompiler = "gcc " __VERSION__;
#else
inline constexpr const char* kCompiler = "unknown";
#endif
inline constexpr const char* kTorchVersion = TORCH_VERSION;
#if defined(_GLIBCXX_USE_CXX11_ABI)
inline constexpr int kCxx11Abi = _GLIBCXX_USE_CXX11_ABI;
#else
inline constexpr int kCxx11Abi = -1;
#endif
}  // namespace build

// Handed to a plugin's register function: adds components to registries, recording the
// plugin as their origin.
class SEGDISTILL_API PluginRegistrar {
 public:
  explicit PluginRegistrar(std::string origin) : origin_(std::move(origin)) {}
  const std::string& origin() const { return origin_; }

  // Registers `name` in `registry`. `factory(const Options&, args...)` builds the
  // component from its options, read and checked through Options' schema.
  template <class Options, class Product, class... Args, class Factory>
  void add(Registry<Product, Args...>& registry, std::string name, std::string help, Factory factory) {
    static_assert(!std::is_same_v<Product, Distiller>, "register a distiller with add_distiller");
    registry.add(entry_info<Options>(std::move(name), std::move(help)),
                 options_factory<Options, Product, Args...>(registry, factory));
  }

  // Registers the distiller class Component, built as Component(options, context).
  // What it takes follows from its base: a PairDistiller one feature of each network, a
  // LevelDistiller a list of each, a LabelledPairDistiller one of each and the batch's
  // labels. `defaults` are the features an entry that names none
  // gets:
  //
  //   registrar.add_distiller<KdDistiller, KdOptions>("kd", "pixel-wise KL ...", {{"logits"}, {"logits"}});
  template <class Component, class Options>
  void add_distiller(std::string name, std::string help, DefaultFeatures defaults = {}) {
    DistillerRegistry& registry = distillers();
    const auto factory = [](const Options& options, const DistillerContext& context) -> std::shared_ptr<Distiller> {
      return std::make_shared<Component>(options, context);
    };
    registry.add(entry_info<Options>(std::move(name), std::move(help)),
                 DistillerInputs{Component::kTakesLevels, Component::kTakesLabels, std::move(defaults)},
                 options_factory<Options, Distiller, const DistillerContext&>(registry, factory));
  }

  // Registers `name` as the class Component, built as Component(options, args...) or,
  // when it needs no build context, Component(options):
  //
  //   registrar.add_class<EmaHook, EmaOptions>(hooks(), "ema", "exponential moving average ...");
  template <class Component, class Options, class Product, class... Args>
  void add_class(Registry<Product, Args...>& registry, std::string name, std::string help) {
    add<Options>(registry, std::move(name), std::move(help),
                 [](const Options& options, Args... args) -> std::shared_ptr<Product> {
                   if constexpr (std::is_constructible_v<Component, const Options&, Args...>)
                     return std::make_shared<Component>(options, std::forward<Args>(args)...);
                   else
                     return std::make_shared<Component>(options);
                 });
  }

 private:
  template <class Options>
  RegistryEntryInfo entry_info(std::string name, std::string help) const {
    return RegistryEntryInfo{std::move(name), std::move(help), origin_, schema_of<Options>()};
  }
  // The registry's factory: reads Options from the component's table, then calls `factory`.
  template <class Options, class Product, class... Args, class Factory>
  static typename Registry<Product, Args...>::Factory options_factory(const RegistryBase& registry, Factory factory) {
    return [factory, reserved = registry.reserved_keys()](const ConfigTable& table, Args... args) -> std::shared_ptr<Product> {
      return factory(parse_options<Options>(table, reserved), std::forward<Args>(args)...);
    };
  }

  std::string origin_;
};

}  // namespace segdistill

#define SEGDISTILL_PLUGIN(NAME, VERSION, REGISTER_FUNCTION)                                    \
  SEGDISTILL_PLUGIN_VERSION_NOTE(::segdistill::kSdkApiVersion)                                 \
  namespace {                                                                                  \
  const ::segdistill::PluginDescriptor* segdistill_plugin_descriptor() {                       \
    static const ::segdistill::PluginDescriptor descriptor{::segdistill::kSdkApiVersion,       \
                                                           NAME,                               \
                                                           VERSION,                            \
                                                           ::segdistill::build::kCompiler,     \
                                                           ::segdistill::build::kTorchVersion, \
                                                           ::segdistill::build::kCxx11Abi,     \
                                                           &REGISTER_FUNCTION};                \
    return &descriptor;                                                                        \
  }                                                                                            \
  }                                                                                            \
  BOOST_DLL_ALIAS(segdistill_plugin_descriptor, segdistill_plugin_entry)

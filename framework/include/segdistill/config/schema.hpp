#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "segdistill/config/table.hpp"
#include "segdistill/core/api.hpp"

namespace segdistill {

enum class ValueType { Bool, Int, Float, String, IntList, FloatList, StringList, Table, TableList };

SEGDISTILL_API const char* value_type_name(ValueType type);
// A value as TOML text, for defaults in help and messages.
SEGDISTILL_API std::string value_to_text(const ConfigValue& value);

// One key a component reads: its type, default, constraints and help.
struct FieldSpec {
  std::string key;
  ValueType type = ValueType::String;
  std::string help;
  bool required = false;
  bool optional = false;             // may be absent with no default (std::optional member)
  ConfigValue default_value;         // std::monostate when there is none
  std::vector<ConfigValue> allowed;  // empty: any value of the type
  std::optional<double> min, max;    // for numbers and every element of number lists
  std::string component_kind;        // a Table naming a registry entry: that registry's kind
};

struct SchemaSpec {
  std::vector<FieldSpec> fields;
};

// How a field's `type = NAME` table (a FieldSpec with a component_kind) is checked: set by
// the plugin layer, which owns the registries (plugin/registries.cpp). Unset: only the
// field's own type is checked.
using ComponentValidator = void (*)(const std::string& kind, const ConfigTable& component);
SEGDISTILL_API void set_component_validator(ComponentValidator validator);

// Reads every field of `spec` from `table`: unknown keys, wrong types, missing required
// keys and values outside the allowed set or range are Errors naming file:line and the
// dotted key path. `ignored_keys` are read by someone else (a registry's `type`).
// Returns one value per field, in order (std::monostate: an absent optional).
SEGDISTILL_API std::vector<ConfigValue> read_fields(const ConfigTable& table, const SchemaSpec& spec,
                                                    const std::vector<std::string>& ignored_keys = {});

namespace schema_detail {
template <class T>
struct TypeOf;
template <>
struct TypeOf<bool> {
  static constexpr ValueType value = ValueType::Bool;
};
template <>
struct TypeOf<std::int64_t> {
  static constexpr ValueType value = ValueType::Int;
};
template <>
struct TypeOf<double> {
  static constexpr ValueType value = ValueType::Float;
};
template <>
struct TypeOf<std::string> {
  static constexpr ValueType value = ValueType::String;
};
template <>
struct TypeOf<std::vector<std::int64_t>> {
  static constexpr ValueType value = ValueType::IntList;
};
template <>
struct TypeOf<std::vector<double>> {
  static constexpr ValueType value = ValueType::FloatList;
};
template <>
struct TypeOf<std::vector<std::string>> {
  static constexpr ValueType value = ValueType::StringList;
};
template <>
struct TypeOf<ConfigTable> {
  static constexpr ValueType value = ValueType::Table;
};
template <>
struct TypeOf<std::vector<ConfigTable>> {
  static constexpr ValueType value = ValueType::TableList;
};

template <class T>
struct IsOptional : std::false_type {
  using type = T;
};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {
  using type = T;
};
}  // namespace schema_detail

// The declared keys of one options struct. An options struct declares its keys in one
// place, a static `declare` function:
//
//   struct ResNetOptions {
//     std::int64_t output_stride;
//     double width;
//     static void declare(Schema<ResNetOptions>& s) {
//       s.field("output_stride", &ResNetOptions::output_stride, "8 or 16").default_value(16).one_of({8, 16});
//       s.field("width", &ResNetOptions::width, "channel multiplier").default_value(1.0).range(0.01, 4.0);
//     }
//   };
//
// and is read with parse_options<ResNetOptions>(table). Members of std::optional type may
// be left out of the config without a default.
template <class Options>
class Schema {
 public:
  template <class Member>
  class Field {
   public:
    using Value = typename schema_detail::IsOptional<Member>::type;
    Field(FieldSpec& spec) : spec_(spec) {}
    Field& required() {
      spec_.required = true;
      return *this;
    }
    Field& default_value(Value v) {
      spec_.default_value = stored(std::move(v));
      return *this;
    }
    Field& one_of(std::vector<Value> values) {
      for (auto& v : values) spec_.allowed.push_back(stored(std::move(v)));
      return *this;
    }
    Field& range(double min, double max) {
      spec_.min = min;
      spec_.max = max;
      return *this;
    }
    Field& at_least(double min) {
      spec_.min = min;
      return *this;
    }
    // The table names an entry of the registry of this kind ("backbones", ...).
    Field& component(std::string kind) {
      spec_.component_kind = std::move(kind);
      return *this;
    }

   private:
    static ConfigValue stored(Value v) { return ConfigValue(std::move(v)); }
    FieldSpec& spec_;
  };

  template <class Member>
  Field<Member> field(std::string key, Member Options::*member, std::string help) {
    using Value = typename schema_detail::IsOptional<Member>::type;
    FieldSpec spec;
    spec.key = std::move(key);
    spec.type = schema_detail::TypeOf<Value>::value;
    spec.help = std::move(help);
    spec.optional = schema_detail::IsOptional<Member>::value;
    spec_.fields.push_back(std::move(spec));
    setters_.push_back([member](Options& options, const ConfigValue& value) {
      if (std::holds_alternative<std::monostate>(value)) return;
      options.*member = std::get<Value>(value);
    });
    // Fields live in a vector that may grow: the builder refers to the last one only
    // until the next call to field(), which is how declarations are written.
    return Field<Member>(spec_.fields.back());
  }

  const SchemaSpec& spec() const { return spec_; }

  Options read(const ConfigTable& table, const std::vector<std::string>& ignored_keys = {}) const {
    const std::vector<ConfigValue> values = read_fields(table, spec_, ignored_keys);
    Options options{};
    for (std::size_t i = 0; i < values.size(); ++i) setters_[i](options, values[i]);
    return options;
  }

  static const Schema& instance() {
    static const Schema schema = [] {
      Schema s;
      Options::declare(s);
      return s;
    }();
    return schema;
  }

 private:
  SchemaSpec spec_;
  std::vector<std::function<void(Options&, const ConfigValue&)>> setters_;
};

template <class Options>
Options parse_options(const ConfigTable& table, const std::vector<std::string>& ignored_keys = {}) {
  return Schema<Options>::instance().read(table, ignored_keys);
}

template <class Options>
const SchemaSpec& schema_of() {
  return Schema<Options>::instance().spec();
}

// Options of a component that reads no keys.
struct NoOptions {
  static void declare(Schema<NoOptions>&) {}
};

}  // namespace segdistill

#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "segdistill/core/api.hpp"

namespace segdistill {

struct ConfigTableImpl;

// A read-only view of one table of a resolved configuration, with the dotted key path
// that leads to it and the source file and line of every value, so that errors can say
// where a value came from. Keeps the whole configuration alive; cheap to copy.
// toml++ stays out of this header on purpose: plugins see only this interface.
class SEGDISTILL_API ConfigTable {
 public:
  ConfigTable();  // an empty table with no source
  ConfigTable(std::shared_ptr<const ConfigTableImpl> impl);

  // Dotted path from the root, "" for the root itself ("model.backbone", "distillers.0").
  const std::string& path() const;
  // Dotted path of a key of this table.
  std::string path_of(const std::string& key) const;
  // "file:line" of the key's value (or of the table when key is empty); "" if unknown.
  std::string where(const std::string& key = "") const;
  // "file:line: dotted.path" as errors start.
  std::string locate(const std::string& key = "") const;

  std::vector<std::string> keys() const;  // in file order of the resolved table
  bool contains(const std::string& key) const;
  bool empty() const;
  // The TOML type of a key's value: "string", "integer", "float", "boolean", "array",
  // "table", "date", "time", "date-time"; "" when absent.
  std::string type_of(const std::string& key) const;

  // The sub-table at key; throws Error naming path and file:line when absent or not a table.
  ConfigTable table(const std::string& key) const;
  // The tables of an array of tables; throws Error when it is not one.
  std::vector<ConfigTable> tables(const std::string& key) const;
  // A string value; throws Error when absent or not a string.
  std::string string(const std::string& key) const;
  // The value as TOML text (for messages and printing).
  std::string to_toml(const std::string& key = "") const;

  const ConfigTableImpl& impl() const { return *impl_; }

 private:
  std::shared_ptr<const ConfigTableImpl> impl_;
};

// A value read through a schema (see schema.hpp).
using ConfigValue = std::variant<std::monostate, bool, std::int64_t, double, std::string, std::vector<std::int64_t>,
                                 std::vector<double>, std::vector<std::string>, ConfigTable, std::vector<ConfigTable>>;

}  // namespace segdistill

#pragma once
#include <memory>
#include <string>
#include <vector>

#include "segdistill/config/table.hpp"
#include "segdistill/core/api.hpp"

namespace segdistill {

struct ConfigDocument;

// A resolved configuration: a TOML file with its `_base_` files merged underneath it
// (tables merged key by key, arrays and values replaced; a table with `_delete_ = true`
// replaces the inherited one) and `--set` overrides on top.
class SEGDISTILL_API Config {
 public:
  // Loads `path`, resolving `_base_` (a path or an array of paths, relative to the file
  // that names them, recursively; cycles are errors), then applies each override
  // "dotted.key=value" in order. The value is parsed as TOML (`0.01` is a float,
  // `{type="resnet18"}` a table); a bare word such as `resnet18` is taken as a string.
  static Config load(const std::string& path, const std::vector<std::string>& overrides = {});
  // Parses TOML text; `source_name` names it in messages. `_base_` paths are relative to
  // the current directory.
  static Config parse(const std::string& toml_text, const std::string& source_name,
                      const std::vector<std::string>& overrides = {});

  ConfigTable root() const;
  // The file the configuration was loaded from ("" for parsed text).
  const std::string& path() const;
  // The resolved configuration as TOML text; loading it back gives the same configuration.
  std::string to_toml() const;
  // Writes to_toml() to `path` atomically (temporary file, then rename).
  void save(const std::string& path) const;

 private:
  explicit Config(std::shared_ptr<ConfigDocument> doc);
  std::shared_ptr<ConfigDocument> doc_;
};

}  // namespace segdistill

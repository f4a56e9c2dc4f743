#pragma once
// Private to libsegdistill: the steps that turn config files into one resolved table.
#include <map>
#include <string>
#include <vector>

#include <toml++/toml.h>

namespace segdistill {

// What toml++ is given at most: it recurses over nesting, and a file is read whole.
inline constexpr std::size_t kMaxConfigBytes = 4u << 20;
inline constexpr std::size_t kMaxConfigNesting = 64;

// Error naming `source_name` when `text` is larger than kMaxConfigBytes or nests arrays,
// inline tables or dotted keys deeper than kMaxConfigNesting (checked by a scan that
// knows strings and comments, before any parsing).
void check_toml_limits(const std::string& text, const std::string& source_name);

// Parses one TOML file or text (both checked by check_toml_limits first); syntax
// errors become Errors with file:line:column.
toml::table parse_toml_file(const std::string& path);
toml::table parse_toml_text(const std::string& text, const std::string& source_name);

// Merges `overlay` into `base`: tables key by key, everything else (arrays included)
// replaced. Nodes are moved so that they keep their file and line.
void deep_merge(toml::table& base, toml::table&& overlay);

// How far `_base_` inheritance may reach: distinct files, and references to files
// (a file named twice counts twice). Each file is parsed once (a diamond of 41 files
// naming the next one twice would otherwise be parsed 2^40 times).
inline constexpr std::size_t kMaxConfigFiles = 64;
inline constexpr std::size_t kMaxBaseReferences = 1024;

// What one config's `_base_` resolution has seen.
struct BaseResolution {
  std::vector<std::string> chain;               // canonical paths of the files being loaded (for cycles)
  std::map<std::string, toml::table> resolved;  // canonical path -> its table with its own bases merged
  std::size_t files = 0;                        // distinct files parsed (resolved or still resolving)
  std::size_t references = 0;
};

// Replaces `table`'s `_base_` key by the merged contents of the files it names,
// resolved relative to `directory`.
void resolve_bases(toml::table& table, const std::string& directory, const std::string& file, BaseResolution& resolution);

// Applies "dotted.key=value" to `root` (see Config::load).
void apply_override(toml::table& root, const std::string& assignment);

}  // namespace segdistill

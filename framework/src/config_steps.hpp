#pragma once
// Private to libsegdistill: the steps that turn config files into one resolved table.
#include <string>
#include <vector>

#include <toml++/toml.h>

namespace segdistill {

// Parses one TOML file or text; syntax errors become Errors with file:line:column.
toml::table parse_toml_file(const std::string& path);
toml::table parse_toml_text(const std::string& text, const std::string& source_name);

// Merges `overlay` into `base`: tables key by key, everything else (arrays included)
// replaced. Nodes are moved so that they keep their file and line.
void deep_merge(toml::table& base, toml::table&& overlay);

// Replaces `table`'s `_base_` key by the merged contents of the files it names,
// resolved relative to `directory`; `chain` holds the files being loaded (for cycles).
void resolve_bases(toml::table& table, const std::string& directory, const std::string& file,
                   std::vector<std::string>& chain);

// Applies "dotted.key=value" to `root` (see Config::load).
void apply_override(toml::table& root, const std::string& assignment);

}  // namespace segdistill

#pragma once
// `segdistill config schema`: the declared schemas of config sections and registered
// components, as text for the terminal or as the Markdown of docs/config-reference.md.
#include <string>

namespace segdistill::cli {

enum class SchemaFormat { Text, Markdown };

// KIND empty: every section (and, in Markdown, every registry too); NAME empty: every
// entry of KIND. Throws Error for an unknown kind or name.
void print_schema(const std::string& kind, const std::string& name, SchemaFormat format);

}  // namespace segdistill::cli

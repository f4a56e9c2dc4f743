#include <algorithm>
#include <filesystem>

#include "config/document.hpp"
#include "config/steps.hpp"
#include "segdistill/core/closest_match.hpp"
#include "segdistill/core/error.hpp"

namespace fs = std::filesystem;

namespace segdistill {

namespace {

std::vector<std::pair<std::string, std::string>> base_entries(const toml::table& table, const std::string& file) {
  const toml::node* node = table.get("_base_");
  if (!node) return {};
  const std::string where = source_of(*node).empty() ? file : source_of(*node);
  const auto invalid = [&] {
    return Error(where + ": _base_: expected a path or an array of paths (strings), got " + node_to_toml(*node));
  };
  std::vector<std::pair<std::string, std::string>> out;  // (path, where)
  if (const auto* single = node->as_string()) {
    out.emplace_back(single->get(), where);
  } else if (const auto* array = node->as_array()) {
    for (const auto& element : *array) {
      if (!element.is_string()) throw invalid();
      const std::string element_where = source_of(element).empty() ? where : source_of(element);
      out.emplace_back(element.as_string()->get(), element_where);
    }
  } else {
    throw invalid();
  }
  return out;
}

}  // namespace

void resolve_bases(toml::table& table, const std::string& directory, const std::string& file, BaseResolution& resolution) {
  const auto bases = base_entries(table, file);
  if (bases.empty()) {
    table.erase("_base_");
    return;
  }
  toml::table merged;
  for (const auto& [relative, where] : bases) {
    if (++resolution.references > kMaxBaseReferences)
      throw Error(where + ": _base_: more than " + std::to_string(kMaxBaseReferences) +
                  " _base_ references in one config (files naming each other over and over?)");
    const fs::path candidate = fs::path(relative).is_absolute() ? fs::path(relative) : fs::path(directory) / relative;
    std::error_code ec;
    if (!fs::exists(candidate, ec))
      throw Error(where + ": _base_: file '" + relative + "' not found (looked for " + candidate.lexically_normal().string() +
                  ", relative to the including file)");
    const std::string canonical = fs::canonical(candidate, ec).string();
    const auto& chain = resolution.chain;
    if (std::find(chain.begin(), chain.end(), canonical) != chain.end()) {
      std::vector<std::string> cycle(std::find(chain.begin(), chain.end(), canonical), chain.end());
      cycle.push_back(canonical);
      throw Error(where + ": _base_: inheritance cycle: " + join(cycle, " -> "));
    }
    // The first use takes the table itself, which keeps every value's file and line; later
    // uses (a diamond) merge a copy of it (toml++ copies drop the source positions).
    auto known = resolution.resolved.find(canonical);
    if (known == resolution.resolved.end()) {
      if (++resolution.files > kMaxConfigFiles)
        throw Error(where + ": _base_: '" + relative + "' would be config file number " + std::to_string(kMaxConfigFiles + 1) +
                    " of this config (at most " + std::to_string(kMaxConfigFiles) + " files)");
      toml::table base = parse_toml_file(candidate.string());
      resolution.chain.push_back(canonical);
      resolve_bases(base, fs::path(canonical).parent_path().string(), candidate.string(), resolution);
      resolution.chain.pop_back();
      resolution.resolved.emplace(canonical, base);
      deep_merge(merged, std::move(base));
      continue;
    }
    toml::table copy = known->second;
    deep_merge(merged, std::move(copy));
  }
  table.erase("_base_");
  deep_merge(merged, std::move(table));
  table = std::move(merged);
}

}  // namespace segdistill

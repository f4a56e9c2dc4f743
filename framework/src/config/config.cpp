#include "segdistill/config/config.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/document.hpp"
#include "config/steps.hpp"
#include "core/atomic_file.hpp"
#include "segdistill/core/error.hpp"

namespace fs = std::filesystem;

namespace segdistill {

Config::Config(std::shared_ptr<ConfigDocument> doc) : doc_(std::move(doc)) {}

Config Config::load(const std::string& path, const std::vector<std::string>& overrides) {
  auto doc = std::make_shared<ConfigDocument>();
  doc->path = path;
  doc->root = parse_toml_file(path);
  std::error_code ec;
  BaseResolution resolution;
  resolution.chain.push_back(fs::canonical(path, ec).string());
  resolve_bases(doc->root, fs::path(path).parent_path().string(), path, resolution);
  for (const auto& assignment : overrides) apply_override(doc->root, assignment);
  return Config(std::move(doc));
}

Config Config::parse(const std::string& toml_text, const std::string& source_name, const std::vector<std::string>& overrides) {
  auto doc = std::make_shared<ConfigDocument>();
  doc->root = parse_toml_text(toml_text, source_name);
  BaseResolution resolution;
  resolve_bases(doc->root, fs::current_path().string(), source_name, resolution);
  for (const auto& assignment : overrides) apply_override(doc->root, assignment);
  return Config(std::move(doc));
}

ConfigTable Config::root() const {
  return ConfigTable(std::make_shared<ConfigTableImpl>(ConfigTableImpl{doc_, &doc_->root, ""}));
}

const std::string& Config::path() const { return doc_->path; }

std::string Config::to_toml() const { return table_to_toml_document(doc_->root); }

void Config::save(const std::string& path) const {
  const std::string text = to_toml();
  write_file_atomically(path, std::vector<char>(text.begin(), text.end()), "resolved config");
}

}  // namespace segdistill

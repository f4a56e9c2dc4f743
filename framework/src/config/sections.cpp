#include "segdistill/config/sections.hpp"

#include <algorithm>

#include "segdistill/core/closest_match.hpp"
#include "segdistill/core/error.hpp"

namespace segdistill {

namespace {

std::vector<SectionSpec>& registered_sections() {
  static std::vector<SectionSpec> sections;
  return sections;
}

// The sections this layer itself declares (sections.hpp); the others are registered by
// the layers that read them.
const SectionRegistration kModelSection{{"model",
                                         "the network trained (the student of a distillation run)",
                                         schema_of<ModelSection>(),
                                         false,
                                         "",
                                         {},
                                         section_order::kModel}};
const SectionRegistration kTeacherSection{{"teacher",
                                           "the frozen network a distillation run learns from",
                                           schema_of<TeacherSection>(),
                                           false,
                                           "",
                                           {},
                                           section_order::kTeacher}};
const SectionRegistration kPluginsSection{
    {"plugins", "where plugin libraries are found", schema_of<PluginsSection>(), false, "", {}, section_order::kPlugins}};

}  // namespace

void register_config_section(SectionSpec section) {
  auto& sections = registered_sections();
  for (const auto& s : sections)
    if (s.key == section.key) throw Error("the config section [" + section.key + "] is registered twice");
  const auto place = std::upper_bound(sections.begin(), sections.end(), section.order,
                                      [](int order, const SectionSpec& s) { return order < s.order; });
  sections.insert(place, std::move(section));
}

const std::vector<SectionSpec>& config_sections() { return registered_sections(); }

void validate_config(const Config& config) {
  const ConfigTable root = config.root();
  const auto& sections = config_sections();
  for (const auto& key : root.keys()) {
    auto it = std::find_if(sections.begin(), sections.end(), [&](const SectionSpec& s) { return s.key == key; });
    if (it == sections.end()) {
      std::vector<std::string> valid;
      for (const auto& s : sections) valid.push_back(s.key);
      UnknownName(root.locate(key) + ": unknown section", key, valid).listed_as("valid sections").raise();
    }
    if (it->array_of_tables) {
      for (const auto& table : root.tables(key))
        if (it->extra_check) it->extra_check(table);
    } else {
      read_fields(root.table(key), it->schema);
      if (it->extra_check) it->extra_check(root.table(key));
    }
  }
}

}  // namespace segdistill

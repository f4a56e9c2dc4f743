// [data] among the config's sections: its schema, and each split's framework keys.
#include "segdistill/config/sections.hpp"
#include "segdistill/data/sections.hpp"

namespace segdistill {

namespace {

void check_data_splits(const ConfigTable& data) {
  for (const char* split : {"train", "val", "test"})
    if (data.contains(split)) read_split_keys(data.table(split));
}

const SectionRegistration kDataSection{{"data", "data sets, splits and their pipelines", schema_of<DataSection>(), false, "",
                                        check_data_splits, section_order::kData}};

}  // namespace

}  // namespace segdistill

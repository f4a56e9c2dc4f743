#pragma once
// Private to libsegdistill: a structural check of MATLAB v5 .mat files before matio
// reads them. matio allocates whatever a header declares (a 219-byte file can ask for
// gigabytes, as fuzzing showed), so every declared length is checked here first.
#include <cstdint>
#include <string>
#include <vector>

namespace segdistill {

// SampleError naming `path` unless every data element (compressed ones inflated, up to
// what `max_elements` values of 8 bytes take) lies within its container, and every
// matrix has at most 8 dimensions, at most `max_elements` values and a name and field
// names of sane length, nested at most 8 deep.
void check_mat_v5(const std::vector<unsigned char>& bytes, const std::string& path, std::int64_t max_elements);

}  // namespace segdistill

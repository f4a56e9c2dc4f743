#pragma once
// Private to libsegdistill: the format of a .mat file and a structural check of v5 files before matio
// reads them. matio allocates whatever a header declares (a 219-byte file can ask for
// gigabytes, as fuzzing showed), so every declared length is checked here first.
#include <cstdint>
#include <string>
#include <vector>

namespace segdistill {

// The format as matio decides it: the version word at byte 124 (0x0100: v5, 0x0200:
// v7.3 / HDF5), read with the endianness of the indicator at byte 126 ("IM" or "MI").
// Anything else (matio would try the header-less v4 format) is Other.
enum class MatFormat { V5, V73, Other };
MatFormat mat_format(const std::vector<unsigned char>& bytes);

// SampleError naming `path` unless every data element (compressed ones inflated, up to
// what `max_elements` values of 8 bytes take) lies within its container, and every
// matrix has at most 8 dimensions, at most `max_elements` values and a name and field
// names of sane length, nested at most 8 deep.
void check_mat_v5(const std::vector<unsigned char>& bytes, const std::string& path, std::int64_t max_elements);

}  // namespace segdistill

// Images, label PNGs and .mat label files of the data sets, with a small pixel limit so
// that what passes the header checks decodes within the fuzzer's memory limit.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "fuzz_support.hpp"
#include "segdistill/data/dataset.hpp"
#include "segdistill/data/image_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  segdistill::set_max_image_pixels(1 << 20);
  const std::vector<unsigned char> bytes(data, data + size);
  try {
    segdistill::decode_rgb_image(bytes, "fuzz.jpg");
  } catch (const segdistill::Error&) {
  }
  try {
    segdistill::decode_label_png(bytes, "fuzz.png");
  } catch (const segdistill::Error&) {
  }
  // matio reads from a path only.
  static const std::string mat = "/tmp/segdistill_fuzz_" + std::to_string(::getpid()) + ".mat";
  std::ofstream(mat, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  for (const char* variable : {"S", "GTcls.Segmentation"}) {
    try {
      segdistill::read_mat_matrix(mat, variable);
    } catch (const segdistill::Error&) {
    }
  }
  return 0;
}

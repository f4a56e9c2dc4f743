#include "data/mat_file_check.hpp"

#include <zlib.h>

#include <cstring>

#include "segdistill/data/dataset.hpp"

namespace segdistill {

namespace {

constexpr std::uint32_t kInt8 = 1, kInt32 = 5, kUint32 = 6, kMatrix = 14, kCompressed = 15;
constexpr std::uint32_t kCellClass = 1, kStructClass = 2, kSparseClass = 5;
constexpr int kMaxDepth = 8;
constexpr std::uint32_t kMaxName = 4096;

// One level of data elements inside [begin, end) of a buffer.
class Elements {
 public:
  Elements(const unsigned char* begin, const unsigned char* end, bool swap, const std::string& path)
      : at_(begin), end_(end), swap_(swap), path_(path) {}

  struct Element {
    std::uint32_t type = 0;
    const unsigned char* data = nullptr;
    std::uint32_t size = 0;
  };

  bool done() const { return at_ >= end_; }

  Element next() {
    if (end_ - at_ < 8) fail("a data element's tag runs past its container");
    Element e;
    const std::uint32_t first = word(at_);
    if (first >> 16) {  // small data element: type, size and up to 4 bytes in one tag
      e.type = first & 0xffff;
      e.size = first >> 16;
      if (e.size > 4) fail("a small data element declares " + std::to_string(e.size) + " bytes (at most 4)");
      e.data = at_ + 4;
      at_ += 8;
      return e;
    }
    e.type = first;
    e.size = word(at_ + 4);
    e.data = at_ + 8;
    if (e.size > static_cast<std::uint64_t>(end_ - e.data))
      fail("a data element declares " + std::to_string(e.size) + " bytes, more than its container holds");
    // Elements are padded to 8 bytes, except compressed ones.
    const std::uint64_t padded = e.type == kCompressed ? e.size : (static_cast<std::uint64_t>(e.size) + 7) / 8 * 8;
    at_ = e.data + std::min<std::uint64_t>(padded, static_cast<std::uint64_t>(end_ - e.data));
    return e;
  }

  std::uint32_t word(const unsigned char* p) const {
    std::uint32_t v = 0;
    std::memcpy(&v, p, 4);
    return swap_ ? __builtin_bswap32(v) : v;
  }
  [[noreturn]] void fail(const std::string& why) const { throw SampleError(path_ + ": corrupt .mat file: " + why); }

 private:
  const unsigned char* at_;
  const unsigned char* end_;
  bool swap_;
  const std::string& path_;
};

class Checker {
 public:
  Checker(bool swap, const std::string& path, std::int64_t max_elements) : swap_(swap), path_(path), max_(max_elements) {}

  void top_level(const unsigned char* begin, const unsigned char* end) const {
    Elements elements(begin, end, swap_, path_);
    while (!elements.done()) {
      const auto e = elements.next();
      if (e.type == kMatrix)
        matrix(e, elements, 0);
      else if (e.type == kCompressed)
        compressed(e, elements);
    }
  }

 private:
  void compressed(const Elements::Element& e, const Elements& context) const {
    // Inflated up to what the largest allowed matrix takes, plus its headers.
    const std::uint64_t cap = static_cast<std::uint64_t>(max_) * 8 + (1u << 20);
    std::vector<unsigned char> out;
    z_stream z{};
    if (inflateInit(&z) != Z_OK) context.fail("cannot start inflating a compressed variable");
    z.next_in = const_cast<Bytef*>(e.data);
    z.avail_in = e.size;
    for (;;) {
      if (out.size() >= cap) {
        inflateEnd(&z);
        throw SampleError(path_ + ": a compressed variable inflates beyond " + std::to_string(cap) +
                          " bytes, more than data.max_image_pixels allows (a decompression bomb, or raise the limit)");
      }
      const std::size_t before = out.size();
      out.resize(std::min<std::uint64_t>(cap, before + (1u << 16)));
      z.next_out = out.data() + before;
      z.avail_out = static_cast<uInt>(out.size() - before);
      const int status = inflate(&z, Z_NO_FLUSH);
      out.resize(out.size() - z.avail_out);
      if (status == Z_STREAM_END) break;
      if (status == Z_BUF_ERROR && z.avail_in == 0) break;  // cut short: what came out is checked
      if (status != Z_OK) {
        inflateEnd(&z);
        context.fail("a compressed variable does not inflate (zlib error " + std::to_string(status) + ")");
      }
    }
    inflateEnd(&z);
    top_level(out.data(), out.data() + out.size());
  }

  void matrix(const Elements::Element& e, const Elements& context, int depth) const {
    if (depth > kMaxDepth) context.fail("matrices nested deeper than " + std::to_string(kMaxDepth) + " levels");
    Elements parts(e.data, e.data + e.size, swap_, path_);
    if (parts.done()) return;  // an empty matrix
    const auto flags = parts.next();
    if (flags.type != kUint32 || flags.size < 8) context.fail("a matrix without its array flags");
    const std::uint32_t array_class = parts.word(flags.data) & 0xff;
    const auto dims = parts.next();
    if (dims.type != kInt32 || dims.size % 4 != 0 || dims.size / 4 > 8 || dims.size < 8)
      context.fail("a matrix's dimensions are not 2 to 8 integers");
    std::int64_t elements = 1;
    for (std::uint32_t d = 0; d < dims.size / 4; ++d) {
      const auto n = static_cast<std::int32_t>(parts.word(dims.data + 4 * d));
      if (n < 0) context.fail("a matrix with a negative dimension");
      // Compared by division, so that no product overflows.
      const std::int64_t factor = std::max<std::int64_t>(n, 1);
      const bool over = factor > max_ / elements;
      elements = over ? max_ + 1 : elements * factor;
      if (over)
        throw SampleError(path_ + ": a matrix of more than " + std::to_string(max_) +
                          " values, more than data.max_image_pixels (a decompression bomb, or raise the limit)");
    }
    const auto name = parts.next();
    if (name.type != kInt8 || name.size > kMaxName) context.fail("a matrix name longer than " + std::to_string(kMaxName));
    if (array_class == kStructClass) {
      const auto length = parts.next();
      if (length.type != kInt32 || length.size != 4) context.fail("a struct without its field-name length");
      const std::uint32_t field_length = parts.word(length.data);
      if (field_length == 0 || field_length > 64)
        context.fail("a struct's field names of " + std::to_string(field_length) + " bytes");
      const auto names = parts.next();
      if (names.type != kInt8 || names.size % field_length != 0) context.fail("a struct's field names are malformed");
      const std::uint64_t fields = names.size / field_length;
      if (fields > 65536 / static_cast<std::uint64_t>(elements)) context.fail("a struct with more than 65536 fields in all");
    }
    if (array_class == kStructClass || array_class == kCellClass) {
      while (!parts.done()) {
        const auto child = parts.next();
        if (child.type != kMatrix) context.fail("a struct field or cell that is not a matrix");
        matrix(child, parts, depth + 1);
      }
      return;
    }
    // Numeric (and sparse) data: each part holds at most the declared values.
    while (!parts.done()) {
      const auto data = parts.next();
      if (array_class != kSparseClass && data.size > static_cast<std::uint64_t>(elements) * 8)
        context.fail("a matrix's data holds more bytes than its dimensions declare");
    }
  }

  bool swap_;
  const std::string& path_;
  std::int64_t max_;
};

}  // namespace

MatFormat mat_format(const std::vector<unsigned char>& bytes) {
  if (bytes.size() < 128) return MatFormat::Other;
  const bool little = bytes[126] == 'I' && bytes[127] == 'M';
  const bool big = bytes[126] == 'M' && bytes[127] == 'I';
  if (!little && !big) return MatFormat::Other;
  const unsigned version = little ? (bytes[125] << 8 | bytes[124]) : (bytes[124] << 8 | bytes[125]);
  return version == 0x0100 ? MatFormat::V5 : version == 0x0200 ? MatFormat::V73 : MatFormat::Other;
}

void check_mat_v5(const std::vector<unsigned char>& bytes, const std::string& path, std::int64_t max_elements) {
  if (bytes.size() < 128) throw SampleError(path + ": not a MATLAB .mat file (shorter than its 128-byte header)");
  const bool little = bytes[126] == 'I' && bytes[127] == 'M';
  const bool big = bytes[126] == 'M' && bytes[127] == 'I';
  if (!little && !big) throw SampleError(path + ": not a MATLAB v5 .mat file (no endian indicator)");
  Checker(big, path, max_elements).top_level(bytes.data() + 128, bytes.data() + bytes.size());
}

}  // namespace segdistill

#include "checkpoint/zip_archive.hpp"

#include <zlib.h>

#include <limits>

#include "segdistill/core/error.hpp"
#include "segdistill/core/untrusted_file.hpp"

namespace segdistill {

namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kCentralHeader = 0x02014b50;
constexpr std::uint32_t kEndOfCentralDirectory = 0x06054b50;
constexpr std::uint32_t kZip64Locator = 0x07064b50;
constexpr std::uint32_t kZip64EndOfCentralDirectory = 0x06064b50;
constexpr std::size_t kEndRecordSize = 22;
constexpr std::size_t kMaxComment = 0xffff;
constexpr std::size_t kMaxEntries = 1u << 20;

// Little-endian fields at checked offsets of the file.
class Cursor {
 public:
  Cursor(const std::vector<char>& bytes, std::uint64_t offset, const ZipArchive& archive, const char* what)
      : bytes_(bytes), pos_(offset), archive_(archive), what_(what) {}
  std::uint64_t read(int width) {
    if (pos_ > bytes_.size() || static_cast<std::uint64_t>(width) > bytes_.size() - pos_)
      throw Error(archive_.path() + ": corrupt zip archive: " + what_ + " runs past the end of the file");
    std::uint64_t value = 0;
    for (int i = 0; i < width; ++i) value |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
    pos_ += static_cast<std::uint64_t>(width);
    return value;
  }
  void skip(std::uint64_t n) { pos_ += n; }
  std::uint64_t position() const { return pos_; }

 private:
  const std::vector<char>& bytes_;
  std::uint64_t pos_;
  const ZipArchive& archive_;
  const char* what_;
};

}  // namespace

ZipArchive::ZipArchive(const std::string& path, const std::string& what)
    : bytes_(read_untrusted_file(path, what, kMaxCheckpointBytes, kCheckpointLimit)), path_(path) {
  parse(what);
}

ZipArchive::ZipArchive(std::vector<char> bytes, std::string path, const std::string& what)
    : bytes_(std::move(bytes)), path_(std::move(path)) {
  parse(what);
}

void ZipArchive::fail(const std::string& why) const { throw Error(path_ + ": corrupt zip archive: " + why); }

void ZipArchive::parse(const std::string& what) {
  if (bytes_.size() < kEndRecordSize) throw Error(path_ + ": not a " + what + " (too short for a zip archive)");
  // The end record sits within the last 22 + 65535 bytes (its comment may follow it).
  std::uint64_t end = std::numeric_limits<std::uint64_t>::max();
  const std::size_t lowest = bytes_.size() > kEndRecordSize + kMaxComment ? bytes_.size() - kEndRecordSize - kMaxComment : 0;
  for (std::size_t at = bytes_.size() - kEndRecordSize + 1; at-- > lowest;) {
    if (Cursor(bytes_, at, *this, "the end record").read(4) == kEndOfCentralDirectory) {
      end = at;
      break;
    }
  }
  if (end == std::numeric_limits<std::uint64_t>::max())
    throw Error(path_ + ": not a " + what + " (no zip end record: truncated, or not a zip archive)");
  Cursor record(bytes_, end + 4, *this, "the end record");
  record.skip(6);  // disk numbers, entries on this disk
  std::uint64_t count = record.read(2);
  std::uint64_t directory_size = record.read(4);
  std::uint64_t directory_offset = record.read(4);
  if (end >= 20 && Cursor(bytes_, end - 20, *this, "the zip64 locator").read(4) == kZip64Locator) {
    Cursor locator(bytes_, end - 20 + 8, *this, "the zip64 locator");
    Cursor zip64(bytes_, locator.read(8), *this, "the zip64 end record");
    if (zip64.read(4) != kZip64EndOfCentralDirectory) fail("the zip64 locator points at no zip64 end record");
    zip64.skip(8 + 2 + 2 + 4 + 4 + 8);  // record size, versions, disk numbers, entries on this disk
    count = zip64.read(8);
    directory_size = zip64.read(8);
    directory_offset = zip64.read(8);
  }
  if (count > kMaxEntries)
    fail("it declares " + std::to_string(count) + " entries (at most " + std::to_string(kMaxEntries) + ")");
  if (directory_offset > bytes_.size() || directory_size > bytes_.size() - directory_offset)
    fail("the central directory lies outside the file");

  Cursor directory(bytes_, directory_offset, *this, "the central directory");
  for (std::uint64_t i = 0; i < count; ++i) {
    if (directory.read(4) != kCentralHeader) fail("entry " + std::to_string(i) + " of the central directory has no header");
    directory.skip(4);  // versions
    const std::uint64_t flags = directory.read(2);
    const std::uint64_t method = directory.read(2);
    directory.skip(4);  // time, date
    Entry e;
    e.crc = static_cast<std::uint32_t>(directory.read(4));
    std::uint64_t compressed = directory.read(4);
    e.size = directory.read(4);
    const std::uint64_t name_length = directory.read(2), extra_length = directory.read(2), comment_length = directory.read(2);
    directory.skip(8);  // disk, attributes
    std::uint64_t local = directory.read(4);
    const std::uint64_t name_at = directory.position();
    directory.skip(name_length);
    if (name_at + name_length > bytes_.size()) fail("an entry's name runs past the end of the file");
    const std::string name(bytes_.data() + name_at, name_length);
    // zip64 extra field: the 64-bit values of the fields that hold 0xffffffff, in order.
    const std::uint64_t extra_end = directory.position() + extra_length;
    for (std::uint64_t at = directory.position(); at + 4 <= extra_end;) {
      Cursor extra(bytes_, at, *this, "an entry's extra field");
      const std::uint64_t id = extra.read(2), length = extra.read(2);
      const std::uint64_t next = extra.position() + length;
      if (next > extra_end) fail("entry '" + name + "' has a malformed extra field");
      if (id == 0x0001) {
        if (e.size == 0xffffffffu) e.size = extra.read(8);
        if (compressed == 0xffffffffu) compressed = extra.read(8);
        if (local == 0xffffffffu) local = extra.read(8);
        if (extra.position() > next) fail("entry '" + name + "' has a short zip64 field");
      }
      at = next;
    }
    directory.skip(extra_length + comment_length);
    if (flags & 0x1) fail("entry '" + name + "' is encrypted");
    if (method != 0 || compressed != e.size)
      fail("entry '" + name + "' is compressed (method " + std::to_string(method) +
           "); torch.save stores entries uncompressed: was the file re-packed?");
    Cursor header(bytes_, local, *this, "a local header");
    if (header.read(4) != kLocalHeader) fail("entry '" + name + "' points at no local header");
    header.skip(22);
    const std::uint64_t local_name = header.read(2), local_extra = header.read(2);
    e.data_offset = header.position() + local_name + local_extra;
    if (e.data_offset > bytes_.size() || e.size > bytes_.size() - e.data_offset)
      fail("entry '" + name + "' (" + std::to_string(e.size) + " bytes) runs past the end of the file");
    if (i == 0) prefix_ = name.substr(0, name.find('/'));
    if (name.size() <= prefix_.size() + 1 || name.compare(0, prefix_.size() + 1, prefix_ + "/") != 0)
      fail("entry '" + name + "' is outside the archive's folder '" + prefix_ + "'");
    if (!entries_.emplace(name.substr(prefix_.size() + 1), e).second) fail("entry '" + name + "' appears twice");
  }
}

bool ZipArchive::has(const std::string& name) const { return entries_.count(name) > 0; }

const ZipArchive::Entry& ZipArchive::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw Error(path_ + ": the archive has no entry '" + prefix_ + "/" + name + "'");
  return it->second;
}

std::size_t ZipArchive::size(const std::string& name) const { return static_cast<std::size_t>(entry(name).size); }

std::string_view ZipArchive::read(const std::string& name) const {
  const Entry& e = entry(name);
  const char* data = bytes_.data() + e.data_offset;
  if (!e.verified) {
    // zlib's crc32 takes 32-bit lengths.
    uLong crc = crc32(0L, Z_NULL, 0);
    for (std::uint64_t done = 0; done < e.size;) {
      const auto chunk = static_cast<uInt>(std::min<std::uint64_t>(e.size - done, 1u << 30));
      crc = crc32(crc, reinterpret_cast<const Bytef*>(data + done), chunk);
      done += chunk;
    }
    if (static_cast<std::uint32_t>(crc) != e.crc)
      throw Error(path_ + ": entry '" + prefix_ + "/" + name +
                  "' fails its CRC-32 check: the file is corrupt (a flipped or "
                  "truncated byte); fetch or copy it again");
    e.verified = true;
  }
  return {data, static_cast<std::size_t>(e.size)};
}

}  // namespace segdistill

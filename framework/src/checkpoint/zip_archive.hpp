#pragma once
// Private to libsegdistill: a reader of the zip archives torch.save and
// torch::pickle_save write (stored entries, zip64 where needed), for untrusted files.
// Every offset and size is checked against the file before use, and an entry's CRC-32
// is verified before its bytes are handed out: LibTorch's own reader skips that check.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace segdistill {

// Checkpoints and state dicts are read whole; a larger file is refused before reading.
inline constexpr std::uint64_t kMaxCheckpointBytes = std::uint64_t{32} << 30;
inline constexpr const char* kCheckpointLimit = "checkpoints are at most 32 GiB";

class ZipArchive {
 public:
  // Reads the whole file (a regular file, read_untrusted_file); `what` says what it
  // should be in errors ("checkpoint", ...).
  ZipArchive(const std::string& path, const std::string& what);
  // Parses an archive held in memory (the fuzz harnesses); `path` names it in errors.
  ZipArchive(std::vector<char> bytes, std::string path, const std::string& what);

  // The folder every entry sits in ("archive" for torch.save files), without the '/'.
  const std::string& prefix() const { return prefix_; }
  // Whether `name` (relative to the prefix) exists.
  bool has(const std::string& name) const;
  // The bytes of `name` (relative to the prefix), CRC-checked; an Error naming the file
  // and the entry when it is missing or corrupt.
  std::string_view read(const std::string& name) const;
  std::size_t size(const std::string& name) const;
  const std::string& path() const { return path_; }
  std::size_t file_size() const { return bytes_.size(); }

 private:
  struct Entry {
    std::uint64_t data_offset = 0, size = 0;
    std::uint32_t crc = 0;
    mutable bool verified = false;
  };
  void parse(const std::string& what);
  [[noreturn]] void fail(const std::string& why) const;
  const Entry& entry(const std::string& name) const;

  std::vector<char> bytes_;
  std::string path_;
  std::string prefix_;
  std::map<std::string, Entry> entries_;
};

}  // namespace segdistill

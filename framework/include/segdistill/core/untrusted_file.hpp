#pragma once
// Every file segdistill reads comes from someone else: configs, split lists,
// checkpoints, images, labels. read_untrusted_file is the one way they come in, and a
// reader's memory for one file is held to a ReaderMemoryBudget, so that what a file can
// cost is bounded by its size.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "segdistill/core/api.hpp"

namespace segdistill {

// The whole of the regular file `path`, at most `max_bytes` of it. Refuses, with an Error
// naming the file and `what` it should be ("checkpoint", "split list", ...):
//  - anything but a regular file (a folder, a FIFO, /dev/zero or another device, a
//    socket), found with fstat on a descriptor opened without blocking, so a FIFO with
//    no writer never hangs the reader;
//  - a file over `max_bytes`, with `limit` saying which limit that is;
//  - a file that changes size while it is read.
SEGDISTILL_API std::vector<char> read_untrusted_file(const std::string& path, const std::string& what, std::uint64_t max_bytes,
                                                     const std::string& limit);

// The same, as unsigned bytes (for decoders that take them: images, labels).
SEGDISTILL_API std::vector<unsigned char> read_untrusted_bytes(const std::string& path, const std::string& what,
                                                               std::uint64_t max_bytes, const std::string& limit);

// Memory a reader may allocate for the contents of one file: a fixed allowance plus a
// small multiple of the file's size. Readers charge what they build (pickle values,
// tensor views, decoded pixels) before building it; going over is an Error naming the
// file, so a small file can never make a large allocation.
class SEGDISTILL_API ReaderMemoryBudget {
 public:
  static constexpr std::uint64_t kAllowance = std::uint64_t{64} << 20;
  static constexpr std::uint64_t kPerFileByte = 16;

  ReaderMemoryBudget(std::string path, std::uint64_t file_bytes);
  // Adds `bytes` to what the reader holds; `what` says what they are for the error.
  void charge(std::uint64_t bytes, const char* what);
  std::uint64_t used() const { return used_; }
  std::uint64_t limit() const { return limit_; }

 private:
  std::string path_;
  std::uint64_t file_bytes_, limit_, used_ = 0;
};

// `text` safe to print on a terminal or in a log: control characters, DEL and bytes that
// are not UTF-8 are written as \xHH (a config key holding an escape sequence cannot move
// the cursor or recolour the terminal).
SEGDISTILL_API std::string printable(std::string_view text);

}  // namespace segdistill

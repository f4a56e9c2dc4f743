#include "segdistill/core/untrusted_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "segdistill/core/error.hpp"

namespace segdistill {

namespace {

const char* file_type(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string mib(std::uint64_t bytes) {
  if (bytes < (1u << 20)) return std::to_string(bytes) + " bytes";
  return std::to_string(bytes >> 20) + " MiB";
}

// An open descriptor, closed on every path out.
class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Opens `path` for reading and checks it is a regular file within `max_bytes`.
// O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting.
int open_regular(const std::string& path, const std::string& what, std::uint64_t max_bytes, const std::string& limit,
                 std::uint64_t& size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) throw Error(path + ": " + what + " not found");
    throw Error(path + ": cannot open the " + what + ": " + std::strerror(error));
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    ::close(fd);
    throw Error(path + ": cannot read the " + what + ": " + std::strerror(error));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    throw Error(path + ": the " + what + " is " + file_type(info.st_mode) + ", not a regular file");
  }
  size = static_cast<std::uint64_t>(info.st_size);
  if (size > max_bytes) {
    ::close(fd);
    throw Error(path + ": the " + what + " has " + std::to_string(size) + " bytes, over the limit of " + mib(max_bytes) + " (" +
                limit + ")");
  }
  return fd;
}

template <class Byte>
std::vector<Byte> read_whole(const std::string& path, const std::string& what, std::uint64_t max_bytes,
                             const std::string& limit) {
  std::uint64_t size = 0;
  Descriptor fd(open_regular(path, what, max_bytes, limit, size));
  // One byte more than fstat said, to see a file that grew meanwhile.
  std::vector<Byte> bytes(static_cast<std::size_t>(size) + 1);
  std::size_t have = 0;
  while (have < bytes.size()) {
    const ssize_t n = ::read(fd.get(), reinterpret_cast<char*>(bytes.data()) + have, bytes.size() - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(path + ": cannot read the " + what + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
  }
  if (have != size)
    throw Error(path + ": the " + what + " changed size while it was read (" + std::to_string(size) + " bytes, then " +
                std::to_string(have) + (have > size ? " or more)" : ")"));
  bytes.resize(have);
  return bytes;
}

}  // namespace

std::vector<char> read_untrusted_file(const std::string& path, const std::string& what, std::uint64_t max_bytes,
                                      const std::string& limit) {
  return read_whole<char>(path, what, max_bytes, limit);
}

std::vector<unsigned char> read_untrusted_bytes(const std::string& path, const std::string& what, std::uint64_t max_bytes,
                                                const std::string& limit) {
  return read_whole<unsigned char>(path, what, max_bytes, limit);
}

ReaderMemoryBudget::ReaderMemoryBudget(std::string path, std::uint64_t file_bytes)
    : path_(std::move(path)),
      file_bytes_(file_bytes),
      limit_(kAllowance +
             (file_bytes > (UINT64_MAX - kAllowance) / kPerFileByte ? UINT64_MAX - kAllowance : file_bytes * kPerFileByte)) {}

void ReaderMemoryBudget::charge(std::uint64_t bytes, const char* what) {
  if (bytes > limit_ - used_)
    throw Error(path_ + ": reading this " + std::to_string(file_bytes_) + "-byte file would take more than " + mib(limit_) +
                " of memory (" + what + "; a reader may use " + mib(kAllowance) + " plus " + std::to_string(kPerFileByte) +
                " times the file's size): a file built to exhaust memory, or corrupt");
  used_ += bytes;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto escape = [&](unsigned char c) {
    static const char digits[] = "0123456789abcdef";
    out += "\\x";
    out += digits[c >> 4];
    out += digits[c & 15];
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f)) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c < 0x80) {  // other control characters and DEL
      escape(c);
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence (no overlong forms, no C1 controls) stays as it is.
    const std::size_t length = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
    bool valid = length > 0 && i + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k) valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    if (valid && length == 2 && c == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0) valid = false;  // C1 controls
    if (valid && length == 3 && c == 0xe0 && static_cast<unsigned char>(text[i + 1]) < 0xa0) valid = false;  // overlong
    if (valid && length == 4 && c == 0xf0 && static_cast<unsigned char>(text[i + 1]) < 0x90) valid = false;  // overlong
    if (valid && length == 4 && c == 0xf4 && static_cast<unsigned char>(text[i + 1]) > 0x8f) valid = false;  // past U+10FFFF
    if (!valid) {
      escape(c);
      ++i;
      continue;
    }
    out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

}  // namespace segdistill

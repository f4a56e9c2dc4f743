#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "segdistill/core/error.hpp"

namespace fs = std::filesystem;

namespace segdistill {

namespace {
void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw Error(std::strerror(errno));
    }
    data += written;
    size -= static_cast<std::size_t>(written);
  }
}
}  // namespace

void write_file_atomically(const std::string& path, const std::vector<char>& bytes, const std::string& what) {
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  // A fresh name, created exclusively (mkostemps: O_CREAT | O_EXCL), so that a file or a
  // link planted at a predictable PATH.tmp is never written through. It ends in .tmp:
  // an interrupted write is recognised as no run of its own.
  std::string temporary = path + ".XXXXXX.tmp";
  const int fd = ::mkostemps(temporary.data(), 4, O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot write the " + what + " (" + temporary + ": " + std::strerror(errno) + ")");
  const auto fail = [&](const std::string& cause) {
    fs::remove(temporary, ec);
    return Error(path + ": cannot write the " + what + " (" + cause + "); the previous file, if any, is unchanged");
  };
  try {
    if (::fchmod(fd, 0644) != 0) throw Error(std::strerror(errno));
    write_all(fd, bytes.data(), bytes.size());
    if (::fsync(fd) != 0) throw Error(std::strerror(errno));
  } catch (const Error& e) {
    ::close(fd);
    throw fail(e.what());
  }
  if (::close(fd) != 0) throw fail(std::strerror(errno));
  // rename replaces a link at PATH itself, never the file it points at.
  fs::rename(temporary, path, ec);
  if (ec) throw fail(ec.message());
  // Make the rename itself durable.
  const int dir_fd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace segdistill

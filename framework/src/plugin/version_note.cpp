#include "plugin/version_note.hpp"

#include <elf.h>

#include <cstring>
#include <vector>

#include "segdistill/core/error.hpp"
#include "segdistill/core/untrusted_file.hpp"
#include "segdistill/plugin/plugin_api.hpp"

namespace segdistill {

namespace {

// Plugins are a few megabytes; the bound only keeps a hostile file from being read whole.
constexpr std::uint64_t kMaxPluginBytes = std::uint64_t{2} << 30;

template <class T>
T read_at(const std::vector<char>& bytes, std::uint64_t offset, const std::string& path) {
  if (offset > bytes.size() || sizeof(T) > bytes.size() - offset)
    throw Error("plugin " + path + ": corrupt ELF file (a header reaches past its end)");
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

constexpr std::uint64_t align4(std::uint64_t n) { return (n + 3) & ~std::uint64_t{3}; }

// The version in one note section's bytes, or 0 when no segdistill note is there.
std::uint32_t version_in_notes(const std::vector<char>& bytes, std::uint64_t begin, std::uint64_t size, const std::string& path) {
  if (begin > bytes.size() || size > bytes.size() - begin)
    throw Error("plugin " + path + ": corrupt ELF file (a note section reaches past its end)");
  std::uint64_t at = begin;
  const std::uint64_t end = begin + size;
  while (end - at >= 12) {
    const auto header = read_at<Elf64_Nhdr>(bytes, at, path);  // the same three words in ELF32 and ELF64 notes
    const std::uint64_t name_at = at + 12, desc_at = name_at + align4(header.n_namesz);
    const std::uint64_t next = desc_at + align4(header.n_descsz);
    if (next > end) throw Error("plugin " + path + ": corrupt ELF note");
    if (header.n_namesz == 11 && header.n_type == kPluginVersionNoteType && header.n_descsz == 4 &&
        std::memcmp(bytes.data() + name_at, "segdistill", 11) == 0)
      return read_at<std::uint32_t>(bytes, desc_at, path);
    at = next;
  }
  return 0;
}

}  // namespace

std::uint32_t plugin_api_version_from_file(const std::string& path) {
  std::vector<char> bytes;
  try {
    bytes = read_untrusted_file(path, "plugin library", kMaxPluginBytes, "plugins are at most 2 GiB");
  } catch (const Error& e) {
    throw Error("plugin " + std::string(e.what()));
  }
  if (bytes.size() < SELFMAG || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0)
    throw Error("plugin " + path + ": not a shared library (no ELF header)");
  const auto header = read_at<Elf64_Ehdr>(bytes, 0, path);
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB || header.e_type != ET_DYN)
    throw Error("plugin " + path + ": not a 64-bit little-endian shared library");
  if (header.e_shentsize != sizeof(Elf64_Shdr) || header.e_shstrndx >= header.e_shnum)
    throw Error("plugin " + path + ": corrupt ELF file (section headers)");
  const auto section = [&](std::uint64_t index) {
    return read_at<Elf64_Shdr>(bytes, header.e_shoff + index * sizeof(Elf64_Shdr), path);
  };
  const Elf64_Shdr names = section(header.e_shstrndx);
  if (names.sh_offset > bytes.size() || names.sh_size > bytes.size() - names.sh_offset)
    throw Error("plugin " + path + ": corrupt ELF file (section names)");
  const std::string wanted = kPluginVersionNoteSection;
  for (std::uint64_t i = 0; i < header.e_shnum; ++i) {
    const Elf64_Shdr s = section(i);
    if (s.sh_name >= names.sh_size || names.sh_size - s.sh_name < wanted.size() + 1) continue;
    if (std::memcmp(bytes.data() + names.sh_offset + s.sh_name, wanted.c_str(), wanted.size() + 1) != 0) continue;
    if (const std::uint32_t version = version_in_notes(bytes, s.sh_offset, s.sh_size, path)) return version;
  }
  throw Error("plugin " + path + ": no segdistill version note (section " + wanted +
              "): not a segdistill plugin, or built against an SDK older than this one's; rebuild it with SEGDISTILL_PLUGIN");
}

}  // namespace segdistill

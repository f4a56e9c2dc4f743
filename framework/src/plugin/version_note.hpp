#pragma once
// Private to libsegdistill: the SDK API version a plugin file declares, read from its
// ELF note (PluginVersionNote) without loading the library, so that a plugin of another
// version is refused before any of its code, constructors included, can run.
#include <cstdint>
#include <string>

namespace segdistill {

// Error naming the file when it is not a 64-bit little-endian ELF shared object or holds
// no segdistill version note (a library built against an SDK older than API 4's note, or
// not a segdistill plugin).
std::uint32_t plugin_api_version_from_file(const std::string& path);

}  // namespace segdistill

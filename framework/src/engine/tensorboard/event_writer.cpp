#include "engine/tensorboard/event_writer.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "engine/tensorboard/crc32c.hpp"
#include "segdistill/core/error.hpp"
#include "tensorboard_event.pb.h"

namespace segdistill::tensorboard {

namespace fs = std::filesystem;

namespace {

double now_seconds() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// Little-endian, as the format stores the length and CRCs.
template <class T>
void append_le(std::string& out, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

// TensorBoard reads a folder's files in name order, and a resumed run's restart marker
// only drops the steps of files read before it: a new file's time stamp is therefore
// later than every stamp already there (a resume within the same second, a clock set back).
std::int64_t file_stamp(const fs::path& dir) {
  std::int64_t stamp = static_cast<std::int64_t>(now_seconds());
  const std::string prefix = "events.out.tfevents.";
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string digits = name.substr(prefix.size(), name.find('.', prefix.size()) - prefix.size());
    if (digits.empty() || digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    stamp = std::max<std::int64_t>(stamp, std::stoll(digits) + 1);
  }
  return stamp;
}

}  // namespace

EventWriter::EventWriter(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the TensorBoard folder: " + ec.message());
  const std::string stem = (fs::path(dir) / ("events.out.tfevents." + std::to_string(file_stamp(dir)) + "." + host_name() + "." +
                                             std::to_string(getpid())))
                               .string();
  path_ = stem;
  // Never append to another writer's file (a resume within the same second).
  for (int n = 1; fs::exists(path_, ec); ++n) path_ = stem + "." + std::to_string(n);
  out_.open(path_, std::ios::binary);
  if (!out_) throw Error(path_ + ": cannot write the TensorBoard event file");
  Event event;
  event.set_wall_time(now_seconds());
  event.set_file_version("brain.Event:2");
  write_record(event.SerializeAsString());
}

void EventWriter::add_session_start(std::int64_t step) {
  Event event;
  event.set_wall_time(now_seconds());
  event.set_step(step);
  event.mutable_session_log()->set_status(SessionLog::START);
  write_record(event.SerializeAsString());
}

void EventWriter::add_scalars(std::int64_t step, const std::vector<std::pair<std::string, double>>& values) {
  if (values.empty()) return;
  Event event;
  event.set_wall_time(now_seconds());
  event.set_step(step);
  for (const auto& [tag, value] : values) {
    Summary::Value* v = event.mutable_summary()->add_value();
    v->set_tag(tag);
    v->set_simple_value(static_cast<float>(value));
  }
  write_record(event.SerializeAsString());
}

void EventWriter::add_image(std::int64_t step, const std::string& tag, const std::vector<unsigned char>& png, int height,
                            int width) {
  Event event;
  event.set_wall_time(now_seconds());
  event.set_step(step);
  Summary::Value* v = event.mutable_summary()->add_value();
  v->set_tag(tag);
  Summary::Image* image = v->mutable_image();
  image->set_height(height);
  image->set_width(width);
  image->set_colorspace(3);
  image->set_encoded_image_string(png.data(), png.size());
  write_record(event.SerializeAsString());
}

void EventWriter::write_record(const std::string& data) {
  std::string header;
  append_le<std::uint64_t>(header, data.size());
  std::string record = header;
  append_le<std::uint32_t>(record, masked_crc32c(header.data(), header.size()));
  record += data;
  append_le<std::uint32_t>(record, masked_crc32c(data.data(), data.size()));
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
  out_.flush();
  if (!out_) throw Error(path_ + ": cannot write the TensorBoard event file (disk full?)");
}

}  // namespace segdistill::tensorboard

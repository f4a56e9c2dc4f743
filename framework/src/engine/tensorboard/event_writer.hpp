#pragma once
// A TensorBoard event file: records of serialised Event messages in TFRecord framing
// (length, masked CRC-32C of the length, data, masked CRC-32C of the data). Each event
// is flushed as written, so TensorBoard shows a run live and a crash loses nothing
// already logged.
#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace segdistill::tensorboard {

class EventWriter {
 public:
  // Creates DIR/events.out.tfevents.<unix time>.<host>.<pid> (a new file per run and per
  // resume; TensorBoard reads every file of the folder) and writes the version record.
  // Error naming the file when it cannot be written.
  explicit EventWriter(const std::string& dir);

  // Marks where this writer's steps begin (SessionLog START at `step`): TensorBoard drops
  // the steps >= `step` it read from earlier files of the folder.
  void add_session_start(std::int64_t step);
  void add_scalars(std::int64_t step, const std::vector<std::pair<std::string, double>>& values);
  // `png`: a PNG file's bytes of a height x width RGB picture.
  void add_image(std::int64_t step, const std::string& tag, const std::vector<unsigned char>& png, int height, int width);

  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& data);
  std::string path_;
  std::ofstream out_;
};

}  // namespace segdistill::tensorboard

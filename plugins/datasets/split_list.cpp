#include "split_list.hpp"

#include <array>
#include <filesystem>
#include <set>

#include "segdistill/data/image_io.hpp"

namespace fs = std::filesystem;

namespace segdistill::datasets_plugin {

std::string resolve_path(const std::string& base, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(base) / path).lexically_normal().string();
}

void require_directory(const std::string& dir, const std::string& key, const std::string& what) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(key + ": " + dir + " is not a folder (expected " + what + ")");
}

std::vector<std::string> files_ending_with(const std::string& dir, const std::string& suffix) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_symlink() && entry.is_regular_file() && name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      names.insert(name);
  }
  return {names.begin(), names.end()};
}

Sample read_sample(std::string id, std::string image_path, std::string label_path, const std::function<cv::Mat()>& read_label) {
  Sample s;
  s.id = std::move(id);
  s.image_path = std::move(image_path);
  s.label_path = std::move(label_path);
  s.image = read_rgb_image(s.image_path);
  s.original_size = s.image.size();
  s.label = read_label();
  if (s.image.size() != s.label.size())
    throw SampleError(s.label_path + ": label is " + std::to_string(s.label.cols) + "x" + std::to_string(s.label.rows) +
                      " but image " + s.image_path + " is " + std::to_string(s.image.cols) + "x" + std::to_string(s.image.rows));
  return s;
}

void check_label_values(const cv::Mat& label, const std::string& label_path, std::int64_t num_classes,
                        std::int64_t ignore_index) {
  std::array<bool, 256> seen{};
  for (int y = 0; y < label.rows; ++y) {
    const uchar* row = label.ptr<uchar>(y);
    for (int x = 0; x < label.cols; ++x) seen[row[x]] = true;
  }
  for (int v = 0; v < 256; ++v) {
    if (seen[static_cast<std::size_t>(v)] && v >= num_classes && v != ignore_index)
      throw SampleError(label_path + ": label value " + std::to_string(v) + " is neither a class (0.." +
                        std::to_string(num_classes - 1) + ") nor the ignore index " + std::to_string(ignore_index));
  }
}

const std::vector<std::string>& voc_class_names() {
  static const std::vector<std::string> names{
      "background",  "aeroplane", "bicycle", "bird",      "boat",   "bottle",      "bus",   "car",  "cat",   "chair",    "cow",
      "diningtable", "dog",       "horse",   "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"};
  return names;
}

}  // namespace segdistill::datasets_plugin

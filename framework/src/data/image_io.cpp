#include "segdistill/data/image_io.hpp"

#include <matio.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <limits>
#include <mutex>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/atomic_file.hpp"
#include "data/image_header.hpp"
#include "data/jpeg_decoder.hpp"
#include "data/mat_file_check.hpp"
#include "data/png_codec.hpp"
#include "segdistill/core/untrusted_file.hpp"
#include "segdistill/data/dataset.hpp"

namespace fs = std::filesystem;

namespace segdistill {

namespace {

std::atomic<std::int64_t>& pixel_limit() {
  static std::atomic<std::int64_t> limit{kDefaultMaxImagePixels};
  return limit;
}

std::string limit_hint() {
  return "more than data.max_image_pixels = " + std::to_string(max_image_pixels()) +
         " (a decompression bomb, or raise the limit)";
}

// Reads the whole file (a regular file: read_untrusted_file), refusing files larger than
// any image within the pixel limit could be (four bytes a pixel and a megabyte of
// metadata).
std::vector<unsigned char> read_file(const std::string& path, const std::string& what) {
  const std::uint64_t most = static_cast<std::uint64_t>(max_image_pixels()) * 4 + (1u << 20);
  try {
    return read_untrusted_bytes(path, what, most, "no image within data.max_image_pixels is larger; raise the limit");
  } catch (const Error& e) {
    throw SampleError(e.what());  // a bad sample: on_bad_sample decides
  }
}

void check_declared_size(const std::string& path, const std::vector<unsigned char>& bytes, const std::string& what) {
  const auto size = declared_image_size(bytes);
  if (!size) return;
  if (size->width == 0 || size->height == 0) throw SampleError(path + ": the " + what + " declares an empty size");
  // Compared by division: two 32-bit dimensions overflow a 64-bit product.
  if (size->width > max_image_pixels() / size->height)
    throw SampleError(path + ": the " + what + " declares " + std::to_string(size->width) + " x " + std::to_string(size->height) +
                      " pixels, " + limit_hint());
}

// A JPEG ends with the EOI marker; OpenCV decodes a truncated one without complaint.
bool jpeg_is_complete(const std::vector<unsigned char>& bytes) {
  std::size_t end = bytes.size();
  while (end > 2 && bytes[end - 1] == 0) --end;  // some writers pad with zeros
  return end >= 2 && bytes[end - 2] == 0xFF && bytes[end - 1] == 0xD9;
}

}  // namespace

void set_max_image_pixels(std::int64_t pixels) { pixel_limit() = pixels; }
std::int64_t max_image_pixels() { return pixel_limit(); }

cv::Mat read_rgb_image(const std::string& path) { return decode_rgb_image(read_file(path, "image"), path); }

cv::Mat decode_rgb_image(const std::vector<unsigned char>& bytes, const std::string& path) {
  const ImageFormat format = image_format(bytes);
  if (format == ImageFormat::Other)
    throw SampleError(path + ": not a JPEG, PNG or BMP image (the file holds " + describe_unknown_format(bytes) +
                      "); segdistill decodes only these formats, told by their first bytes, whatever the extension");
  if (format == ImageFormat::Jpeg) {
    if (!jpeg_is_complete(bytes)) throw SampleError(path + ": truncated JPEG (no end-of-image marker)");
    return decode_jpeg_rgb(bytes, path, max_image_pixels());
  }
  check_declared_size(path, bytes, "image");
  cv::Mat bgr;
  try {
    bgr = cv::imdecode(bytes, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    throw SampleError(path + ": cannot decode the image: " + e.msg);
  }
  if (bgr.empty()) throw SampleError(path + ": cannot decode the image (corrupt, truncated or not an image)");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

cv::Mat read_label_png(const std::string& path) { return decode_label_png(read_file(path, "label"), path); }

cv::Mat decode_label_png(const std::vector<unsigned char>& bytes, const std::string& path) {
  check_declared_size(path, bytes, "label");
  cv::Mat indices;
  std::string error;
  if (!decode_index_png(bytes, indices, error)) throw SampleError(path + ": cannot read the label: " + error);
  return indices;
}

void write_label_png(const std::string& path, const cv::Mat& label, const std::vector<cv::Vec3b>& palette) {
  write_file_atomically(path, encode_palette_png(label, palette), "label PNG");
}

void write_rgb_image(const std::string& path, const cv::Mat& rgb) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<unsigned char> encoded;
  const std::string ext = fs::path(path).extension().string();
  if (!cv::imencode(ext.empty() ? ".png" : ext, bgr, encoded)) throw Error(path + ": cannot encode the image");
  write_file_atomically(path, std::vector<char>(encoded.begin(), encoded.end()), "image");
}

namespace {

// HDF5 (behind v7.3 files) is not thread-safe in Debian's serial build: v7.3 reads are
// serialised, v5 reads run in parallel.
std::mutex& hdf5_mutex() {
  static std::mutex mutex;
  return mutex;
}

template <class T>
cv::Mat column_major_to_mat(const matvar_t* var, const std::string& where) {
  if (var->dims[0] > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      var->dims[1] > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      var->nbytes / sizeof(T) / std::max<size_t>(var->dims[1], 1) < var->dims[0])
    throw SampleError(where + ": the matrix holds fewer values than its dimensions declare (corrupt file)");
  const auto rows = static_cast<int>(var->dims[0]);
  const auto cols = static_cast<int>(var->dims[1]);
  const T* data = static_cast<const T*>(var->data);
  cv::Mat out(rows, cols, CV_16UC1);
  for (int c = 0; c < cols; ++c) {
    for (int r = 0; r < rows; ++r) {
      const double v =
          static_cast<double>(data[static_cast<std::size_t>(c) * static_cast<std::size_t>(rows) + static_cast<std::size_t>(r)]);
      if (v < 0 || v > 65535 || v != std::floor(v))
        throw SampleError(where + ": value " + std::to_string(v) + " is not a label (integers 0..65535)");
      out.at<std::uint16_t>(r, c) = static_cast<std::uint16_t>(v);
    }
  }
  return out;
}

struct MatCloser {
  void operator()(mat_t* mat) const { Mat_Close(mat); }
};
struct VarFreer {
  void operator()(matvar_t* var) const { Mat_VarFree(var); }
};

void check_matrix_dims(const matvar_t& var, const std::string& where) {
  if (var.rank < 0 || var.rank > 8 || (var.rank > 0 && !var.dims)) throw SampleError(where + ": a malformed matrix header");
  std::int64_t elements = 1;
  for (int d = 0; d < var.rank; ++d) {
    // Compared by division, so that no product overflows.
    const auto dim = static_cast<std::int64_t>(std::min<size_t>(std::max<size_t>(var.dims[d], 1), size_t{1} << 62));
    if (dim > max_image_pixels() / elements)
      throw SampleError(where + ": a matrix of more than " + std::to_string(max_image_pixels()) + " elements, " + limit_hint());
    elements *= dim;
  }
}

cv::Mat read_mat_locked(const std::string& path, const std::string& variable, MatFormat format) {
  std::unique_ptr<mat_t, MatCloser> mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  if (!mat) throw SampleError(path + ": not a readable MATLAB .mat file");
  const auto dot = variable.find('.');
  const std::string name = variable.substr(0, dot);
  // v7.3 (HDF5): the variable's header first, its dimensions checked before its data is
  // read. (v5 files were walked whole by check_mat_v5; matio's struct-field accessors
  // dereference field data that Mat_VarReadInfo may not have loaded, as fuzzing showed.)
  if (format == MatFormat::V73) {
    std::unique_ptr<matvar_t, VarFreer> info(Mat_VarReadInfo(mat.get(), name.c_str()));
    if (!info) throw SampleError(path + ": no variable '" + name + "' (expected " + variable + ")");
    check_matrix_dims(*info, path + ": " + name);
    if (info->class_type == MAT_C_STRUCT && info->data != nullptr) {
      const size_t fields = Mat_VarGetNumberOfFields(info.get());
      for (size_t i = 0; i < fields; ++i)
        if (const matvar_t* field = Mat_VarGetStructFieldByIndex(info.get(), i, 0)) check_matrix_dims(*field, path + ": " + name);
    }
  }
  std::unique_ptr<matvar_t, VarFreer> var(Mat_VarRead(mat.get(), name.c_str()));
  if (!var) throw SampleError(path + ": no variable '" + name + "' (expected " + variable + ")");
  const matvar_t* matrix = var.get();
  if (dot != std::string::npos) {
    const std::string field = variable.substr(dot + 1);
    if (var->class_type != MAT_C_STRUCT) throw SampleError(path + ": '" + name + "' is not a struct (expected " + variable + ")");
    // matio's accessor dereferences the fields without checking they were read.
    if (var->data == nullptr || var->rank < 1 || var->dims == nullptr || var->dims[0] == 0)
      throw SampleError(path + ": struct '" + name + "' is empty (expected " + variable + ")");
    matrix = Mat_VarGetStructFieldByName(var.get(), field.c_str(), 0);
    if (!matrix) throw SampleError(path + ": struct '" + name + "' has no field '" + field + "'");
  }
  const std::string where = path + ": " + variable;
  if (matrix->rank != 2 || !matrix->data) throw SampleError(where + ": expected a 2-D matrix");
  // matio keeps complex data as two arrays behind a pair of pointers and sparse data as a
  // struct: reading either as a plain array runs past it (a fuzzing finding).
  if (matrix->isComplex || matrix->class_type == MAT_C_SPARSE || matrix->class_type == MAT_C_CELL ||
      matrix->class_type == MAT_C_STRUCT || matrix->class_type == MAT_C_CHAR || matrix->class_type == MAT_C_FUNCTION ||
      matrix->class_type == MAT_C_OBJECT || matrix->class_type == MAT_C_OPAQUE)
    throw SampleError(where + ": expected a real numeric matrix (the file holds a " +
                      (matrix->isComplex ? std::string("complex") : std::string("non-numeric or sparse")) + " one)");
  switch (matrix->data_type) {
    case MAT_T_UINT8:
      return column_major_to_mat<std::uint8_t>(matrix, where);
    case MAT_T_UINT16:
      return column_major_to_mat<std::uint16_t>(matrix, where);
    case MAT_T_INT16:
      return column_major_to_mat<std::int16_t>(matrix, where);
    case MAT_T_INT32:
      return column_major_to_mat<std::int32_t>(matrix, where);
    case MAT_T_UINT32:
      return column_major_to_mat<std::uint32_t>(matrix, where);
    case MAT_T_DOUBLE:
      return column_major_to_mat<double>(matrix, where);
    case MAT_T_SINGLE:
      return column_major_to_mat<float>(matrix, where);
    default:
      throw SampleError(where + ": unsupported element type (expected an integer or floating-point matrix)");
  }
}

}  // namespace

cv::Mat read_mat_matrix(const std::string& path, const std::string& variable) {
  const std::vector<unsigned char> bytes = read_file(path, "annotation");
  switch (mat_format(bytes)) {
    case MatFormat::V73: {
      std::lock_guard<std::mutex> lock(hdf5_mutex());
      return read_mat_locked(path, variable, MatFormat::V73);
    }
    case MatFormat::V5:
      check_mat_v5(bytes, path, max_image_pixels());
      return read_mat_locked(path, variable, MatFormat::V5);
    case MatFormat::Other:
      break;
  }
  throw SampleError(path + ": not a MATLAB v5 or v7.3 .mat file (no version 0x0100 or 0x0200 at byte 124)");
}

std::vector<cv::Vec3b> voc_palette(std::size_t size) {
  std::vector<cv::Vec3b> palette(size);
  for (std::size_t i = 0; i < size; ++i) {
    std::size_t c = i;
    unsigned r = 0, g = 0, b = 0;
    for (int j = 7; j >= 0; --j) {
      r |= static_cast<unsigned>(c & 1) << j;
      g |= static_cast<unsigned>((c >> 1) & 1) << j;
      b |= static_cast<unsigned>((c >> 2) & 1) << j;
      c >>= 3;
    }
    palette[i] = cv::Vec3b(static_cast<uchar>(r), static_cast<uchar>(g), static_cast<uchar>(b));
  }
  return palette;
}

}  // namespace segdistill

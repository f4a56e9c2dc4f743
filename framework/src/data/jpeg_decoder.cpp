#include "data/jpeg_decoder.hpp"

// jpeglib.h needs stdio.h (FILE, size_t) first.
// clang-format off
#include <cstdio>
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <csetjmp>
#include <cstring>

#include "segdistill/data/dataset.hpp"

namespace segdistill {

namespace {

// libjpeg reports errors through a callback that must not return: it longjmps back into
// the function that called libjpeg. Everything that function touches lives in this
// struct, reached through a pointer, so no local is left indeterminate by the jump and no
// destructor is skipped.
struct Decoder {
  jpeg_decompress_struct info{};
  jpeg_error_mgr errors{};
  jpeg_progress_mgr progress{};
  std::jmp_buf jump{};
  char message[JMSG_LENGTH_MAX] = {0};
};

Decoder* decoder_of(j_common_ptr info) { return static_cast<Decoder*>(info->client_data); }

[[noreturn]] void on_error(j_common_ptr info) {
  Decoder* d = decoder_of(info);
  (*info->err->format_message)(info, d->message);
  std::longjmp(d->jump, 1);
}

// Warnings (level -1) are corrupt data, except those about metadata segdistill ignores.
void on_message(j_common_ptr info, int level) {
  if (level >= 0) return;  // trace messages
  const int code = info->err->msg_code;
  if (code == JWRN_ADOBE_XFORM || code == JWRN_JFIF_MAJOR || code == JWRN_BOGUS_ICC) return;
  on_error(info);
}

// Called at least once per scan while libjpeg reads a progressive file.
void on_progress(j_common_ptr info) {
  if (!info->is_decompressor) return;
  const auto* decompress = reinterpret_cast<j_decompress_ptr>(info);
  if (decompress->input_scan_number <= kMaxJpegScans) return;
  Decoder* d = decoder_of(info);
  std::snprintf(d->message, sizeof(d->message), "more than %d scans (a progressive JPEG built to decode for minutes)",
                kMaxJpegScans);
  std::longjmp(d->jump, 1);
}

// Reads the markers up to the first scan. false: d->message says why.
bool read_header(Decoder* d, const std::vector<unsigned char>& bytes) {
  if (setjmp(d->jump)) return false;
  jpeg_create_decompress(&d->info);  // clears every field but err and client_data
  d->info.progress = &d->progress;
  jpeg_mem_src(&d->info, bytes.data(), static_cast<unsigned long>(bytes.size()));
  if (jpeg_read_header(&d->info, TRUE) != JPEG_HEADER_OK) {
    std::snprintf(d->message, sizeof(d->message), "no image in the file");
    return false;
  }
  const bool cmyk = d->info.jpeg_color_space == JCS_CMYK || d->info.jpeg_color_space == JCS_YCCK;
  d->info.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  return true;
}

// Decodes every row into `out` (rows of `stride` bytes). false: d->message says why.
bool read_pixels(Decoder* d, unsigned char* out, std::size_t stride) {
  if (setjmp(d->jump)) return false;
  jpeg_start_decompress(&d->info);
  while (d->info.output_scanline < d->info.output_height) {
    JSAMPROW row = out + static_cast<std::size_t>(d->info.output_scanline) * stride;
    jpeg_read_scanlines(&d->info, &row, 1);
  }
  jpeg_finish_decompress(&d->info);
  return true;
}

// Adobe's CMYK JPEGs store inverted values: the colour is C*K, M*K, Y*K.
cv::Mat cmyk_to_rgb(const cv::Mat& cmyk) {
  cv::Mat rgb(cmyk.rows, cmyk.cols, CV_8UC3);
  for (int y = 0; y < cmyk.rows; ++y) {
    const auto* in = cmyk.ptr<cv::Vec4b>(y);
    auto* out = rgb.ptr<cv::Vec3b>(y);
    for (int x = 0; x < cmyk.cols; ++x)
      for (int c = 0; c < 3; ++c) out[x][c] = static_cast<uchar>((in[x][c] * in[x][3] + 127) / 255);
  }
  return rgb;
}

}  // namespace

cv::Mat decode_jpeg_rgb(const std::vector<unsigned char>& bytes, const std::string& path, std::int64_t max_pixels) {
  auto d = std::make_unique<Decoder>();
  d->info.err = jpeg_std_error(&d->errors);
  d->errors.error_exit = on_error;
  d->errors.emit_message = on_message;
  d->info.client_data = d.get();
  d->progress.progress_monitor = on_progress;
  struct Destroy {
    Decoder* d;
    ~Destroy() { jpeg_destroy_decompress(&d->info); }
  } destroy{d.get()};

  if (!read_header(d.get(), bytes)) throw SampleError(path + ": corrupt JPEG: " + d->message);
  const std::int64_t width = d->info.image_width, height = d->info.image_height;
  if (width == 0 || height == 0) throw SampleError(path + ": the JPEG declares an empty size");
  // Compared by division: two 16-bit dimensions cannot overflow, but the rule is general.
  if (width > max_pixels / height)
    throw SampleError(path + ": the image declares " + std::to_string(width) + " x " + std::to_string(height) +
                      " pixels, more than data.max_image_pixels = " + std::to_string(max_pixels) +
                      " (a decompression bomb, or raise the limit)");
  const bool cmyk = d->info.out_color_space == JCS_CMYK;
  cv::Mat pixels(static_cast<int>(height), static_cast<int>(width), cmyk ? CV_8UC4 : CV_8UC3);
  if (!read_pixels(d.get(), pixels.data, pixels.step[0])) throw SampleError(path + ": corrupt JPEG: " + d->message);
  return cmyk ? cmyk_to_rgb(pixels) : pixels;
}

}  // namespace segdistill

#include "data/png_codec.hpp"

#include <png.h>

#include <csetjmp>
#include <cstring>

#include "segdistill/core/error.hpp"

namespace segdistill {

namespace {

struct MemoryReader {
  const unsigned char* data;
  std::size_t size;
  std::size_t pos;
};

void read_from_memory(png_structp png, png_bytep out, png_size_t length) {
  auto* reader = static_cast<MemoryReader*>(png_get_io_ptr(png));
  if (length > reader->size - reader->pos) png_error(png, "file ends early (truncated?)");
  std::memcpy(out, reader->data + reader->pos, length);
  reader->pos += length;
}

// libpng reports errors by longjmp; the message is kept here for the caller.
struct ErrorSink {
  char message[256];
};

void on_error(png_structp png, png_const_charp message) {
  auto* sink = static_cast<ErrorSink*>(png_get_error_ptr(png));
  std::snprintf(sink->message, sizeof(sink->message), "%s", message);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}

// Everything that must survive a longjmp lives in this struct, not in locals.
struct DecodeState {
  png_structp png = nullptr;
  png_infop info = nullptr;
  MemoryReader reader{};
  ErrorSink sink{};
  std::vector<png_bytep> rows;
  cv::Mat* out = nullptr;
  std::string* error = nullptr;
};

bool decode(DecodeState& s) {
  if (setjmp(png_jmpbuf(s.png))) {
    *s.error = s.sink.message;
    return false;
  }
  png_set_read_fn(s.png, &s.reader, read_from_memory);
  png_read_info(s.png, s.info);
  const int color_type = png_get_color_type(s.png, s.info);
  const int bit_depth = png_get_bit_depth(s.png, s.info);
  if (color_type != PNG_COLOR_TYPE_PALETTE && color_type != PNG_COLOR_TYPE_GRAY) {
    *s.error = "a label PNG must be a palette (P) or 8-bit grey (L) image, this one is " +
               std::string(color_type == PNG_COLOR_TYPE_RGB         ? "RGB"
                           : color_type == PNG_COLOR_TYPE_RGB_ALPHA ? "RGBA"
                                                                    : "grey with alpha") +
               " (colours cannot be mapped back to classes)";
    return false;
  }
  if (bit_depth == 16) {
    *s.error = "16-bit label PNGs are not supported (class indices must fit in 8 bits)";
    return false;
  }
  // Unpack 1/2/4-bit samples to one byte each, keeping the index values.
  if (bit_depth < 8) png_set_packing(s.png);
  png_read_update_info(s.png, s.info);
  const png_uint_32 width = png_get_image_width(s.png, s.info);
  const png_uint_32 height = png_get_image_height(s.png, s.info);
  s.out->create(static_cast<int>(height), static_cast<int>(width), CV_8UC1);
  s.rows.resize(height);
  for (png_uint_32 y = 0; y < height; ++y) s.rows[y] = s.out->ptr<png_byte>(static_cast<int>(y));
  png_read_image(s.png, s.rows.data());
  png_read_end(s.png, nullptr);
  return true;
}

struct MemoryWriter {
  std::vector<char> bytes;
};

void write_to_memory(png_structp png, png_bytep data, png_size_t length) {
  auto* writer = static_cast<MemoryWriter*>(png_get_io_ptr(png));
  writer->bytes.insert(writer->bytes.end(), reinterpret_cast<char*>(data), reinterpret_cast<char*>(data) + length);
}

void flush_memory(png_structp) {}

struct EncodeState {
  png_structp png = nullptr;
  png_infop info = nullptr;
  MemoryWriter writer;
  ErrorSink sink{};
  std::vector<png_color> colours;
  std::vector<png_bytep> rows;
};

bool encode(EncodeState& s, const cv::Mat& indices) {
  if (setjmp(png_jmpbuf(s.png))) return false;
  png_set_write_fn(s.png, &s.writer, write_to_memory, flush_memory);
  png_set_IHDR(s.png, s.info, static_cast<png_uint_32>(indices.cols), static_cast<png_uint_32>(indices.rows), 8,
               PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_PLTE(s.png, s.info, s.colours.data(), static_cast<int>(s.colours.size()));
  png_write_info(s.png, s.info);
  s.rows.resize(static_cast<std::size_t>(indices.rows));
  for (int y = 0; y < indices.rows; ++y) s.rows[static_cast<std::size_t>(y)] = const_cast<png_bytep>(indices.ptr<png_byte>(y));
  png_write_image(s.png, s.rows.data());
  png_write_end(s.png, nullptr);
  return true;
}

}  // namespace

bool decode_index_png(const std::vector<unsigned char>& bytes, cv::Mat& indices, std::string& error) {
  if (bytes.size() < 8 || png_sig_cmp(bytes.data(), 0, 8) != 0) {
    error = "not a PNG file";
    return false;
  }
  DecodeState state;
  state.reader = {bytes.data(), bytes.size(), 0};
  state.out = &indices;
  state.error = &error;
  state.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state.sink, on_error, on_warning);
  state.info = state.png ? png_create_info_struct(state.png) : nullptr;
  if (!state.info) {
    png_destroy_read_struct(&state.png, nullptr, nullptr);
    error = "out of memory";
    return false;
  }
  const bool ok = decode(state);
  png_destroy_read_struct(&state.png, &state.info, nullptr);
  return ok;
}

std::vector<char> encode_palette_png(const cv::Mat& indices, const std::vector<cv::Vec3b>& palette) {
  if (indices.type() != CV_8UC1) throw Error("encode_palette_png: expected CV_8UC1 indices");
  EncodeState state;
  for (std::size_t i = 0; i < palette.size() && i < 256; ++i)
    state.colours.push_back(png_color{palette[i][0], palette[i][1], palette[i][2]});
  // A full 256-entry palette: every index a label can hold has a colour.
  while (state.colours.size() < 256) state.colours.push_back(png_color{0, 0, 0});
  state.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state.sink, on_error, on_warning);
  state.info = state.png ? png_create_info_struct(state.png) : nullptr;
  if (!state.info) {
    png_destroy_write_struct(&state.png, nullptr);
    throw Error("PNG encoder: out of memory");
  }
  const bool ok = encode(state, indices);
  png_destroy_write_struct(&state.png, &state.info);
  if (!ok) throw Error(std::string("PNG encoder: ") + state.sink.message);
  return std::move(state.writer.bytes);
}

}  // namespace segdistill

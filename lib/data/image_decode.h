// PNG, JPEG and BMP decoding through stb_image (Debian's libstb-dev). The only file that compiles stb_image is
// image_decode.cpp; nothing else includes stb headers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace pare {

/// What an image file's header says.
struct ImageInfo {
    int64_t height = 0;
    int64_t width = 0;
    int channels = 0;  // in the file: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA
};

/// 8-bit interleaved pixels, row-major: pixel (y, x) channel c is pixels[(y * width + x) * channels + c].
struct DecodedImage {
    int64_t height = 0;
    int64_t width = 0;
    int channels = 0;
    std::unique_ptr<uint8_t, void (*)(void*)> pixels{nullptr, nullptr};
};

/// True for names ending in .png, .jpg, .jpeg or .bmp, in any letter case.
bool is_image_file_name(const std::string& path);

/// Reads only the header. A missing file, another format or a malformed header is kInvalidInput naming the file.
Result<ImageInfo> probe_image(const std::string& path);

/// Decodes the whole image (top row first; EXIF orientation is not applied) to `channels` channels (1: gray, 3: RGB;
/// stb_image converts: alpha is dropped, gray is replicated, RGB becomes gray with its own integer weights, so ask
/// for 1 only from gray files). 16-bit PNGs are reduced to 8 bits. A file that ends before its pixel data does
/// (which stb_image itself would fill with zeros), or that does not decode, is kInvalidInput naming the file.
Result<DecodedImage> decode_image(const std::string& path, int channels);

}  // namespace pare

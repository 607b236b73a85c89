#include "data/image_decode.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

// stb_image compiled here only, restricted to the formats pare reads. Static linkage keeps its symbols out of the
// way of any other copy (Debian also ships libstb.a); its own warnings are not ours to fix.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO  // bytes are handed over through callbacks (below), which detect truncation
#define STBI_FAILURE_USERMSG
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

namespace pare {

namespace {

// Enough for the header of any PNG or BMP and of almost every JPEG; the rest is read only when stb_image wants it.
constexpr size_t kProbeBytes = 64 * 1024;

// Up to `limit` bytes from the start of a file; `whole` tells whether that is all of it.
Result<std::string> read_bytes(const std::string& path, size_t limit, bool& whole) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) return invalid_input("cannot open image '" + path + "': " + std::strerror(errno));
    std::string bytes;
    char chunk[16384];
    while (bytes.size() < limit) {
        const size_t got = std::fread(chunk, 1, std::min(sizeof chunk, limit - bytes.size()), file);
        bytes.append(chunk, got);
        if (got == 0) break;
    }
    const bool failed = std::ferror(file) != 0;
    whole = bytes.size() < limit || std::fgetc(file) == EOF;
    std::fclose(file);
    if (failed) return invalid_input("cannot read image '" + path + "': " + std::strerror(errno));
    return bytes;
}

// Bytes handed to stb_image through its callbacks. stb_image answers a read past the end of its data with zeros and
// carries on, so a truncated file can decode "successfully"; a read that finds nothing left marks that it happened.
class ByteStream {
public:
    explicit ByteStream(const std::string& bytes) : bytes_(bytes) {}
    bool read_past_end() const { return read_past_end_; }
    static const stbi_io_callbacks callbacks;

private:
    static int read(void* user, char* dst, int size) {
        auto* self = static_cast<ByteStream*>(user);
        const size_t got = std::min(static_cast<size_t>(std::max(size, 0)), self->bytes_.size() - self->position_);
        std::memcpy(dst, self->bytes_.data() + self->position_, got);
        self->position_ += got;
        if (got == 0 && size > 0) self->read_past_end_ = true;
        return static_cast<int>(got);
    }
    static void skip(void* user, int size) {
        auto* self = static_cast<ByteStream*>(user);
        self->position_ = std::min(self->bytes_.size(), self->position_ + static_cast<size_t>(std::max(size, 0)));
    }
    static int eof(void* user) {
        auto* self = static_cast<ByteStream*>(user);
        return self->position_ >= self->bytes_.size();
    }

    const std::string& bytes_;
    size_t position_ = 0;
    bool read_past_end_ = false;
};

const stbi_io_callbacks ByteStream::callbacks = {&ByteStream::read, &ByteStream::skip, &ByteStream::eof};

// Debian's stb_image (2.27) trusts the code counts of a JPEG Huffman table (DHT): counts adding up to more than 256
// write past its 256-entry tables (upstream checks since 2.28). So the segments are walked first, as stb_image
// walks them, and such a table is refused. `until_frame`: stop at the frame header, as far as stbi_info reads.
Status check_jpeg_huffman_tables(const std::string& bytes, bool until_frame, const std::string& path) {
    auto at = [&](size_t i) -> size_t { return i < bytes.size() ? static_cast<uint8_t>(bytes[i]) : 0; };
    if (at(0) != 0xFF || at(1) != 0xD8) return Status();  // not a JPEG
    size_t pos = 2;
    while (pos < bytes.size()) {
        // The next marker: stb_image skips anything up to a 0xFF, then 0xFF fill bytes. Inside entropy-coded data
        // this also steps over stuffed 0xFF00 and restart markers, which have no length.
        while (pos < bytes.size() && at(pos) != 0xFF) ++pos;
        while (pos < bytes.size() && at(pos) == 0xFF) ++pos;
        if (pos >= bytes.size()) break;
        const size_t marker = at(pos++);
        if (marker == 0xD9) break;  // end of image
        if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;
        const size_t length = at(pos) << 8 | at(pos + 1);
        if (length < 2) break;  // stb_image stops here too
        if (marker == 0xC4) {
            // Tables are read while the segment has bytes left, even past its end (missing bytes read as zeros).
            int64_t left = static_cast<int64_t>(length) - 2;
            for (size_t table = pos + 2; left > 0;) {
                size_t codes = 0;
                for (size_t i = 0; i < 16; ++i) codes += at(table + 1 + i);
                if (codes > 256) {
                    return invalid_input("cannot decode image '" + path + "': Corrupt JPEG (a Huffman table has " +
                                         std::to_string(codes) + " codes; at most 256)");
                }
                table += 17 + codes;
                left -= static_cast<int64_t>(17 + codes);
            }
        }
        const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (until_frame && frame) break;
        pos += length;
    }
    return Status();
}

// stb_image's reasons do not name the file ("Corrupt PNG"); the one for unrecognized data also says what is accepted.
Status decode_error(const std::string& path) {
    const std::string reason = stbi_failure_reason() ? stbi_failure_reason() : "unknown error";
    if (reason == "Image not of any known type, or corrupt") {
        return invalid_input("'" + path + "' is not a PNG, JPEG or BMP image, or is corrupt");
    }
    return invalid_input("cannot decode image '" + path + "': " + reason);
}

}  // namespace

bool is_image_file_name(const std::string& path) {
    const size_t dot = path.rfind('.');
    if (dot == std::string::npos || path.find('/', dot) != std::string::npos) return false;
    std::string extension = path.substr(dot + 1);
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return extension == "png" || extension == "jpg" || extension == "jpeg" || extension == "bmp";
}

Result<ImageInfo> probe_image(const std::string& path) {
    // The first bytes usually hold the header; the whole file is read only when stb_image asks for more.
    for (size_t limit : {kProbeBytes, std::numeric_limits<size_t>::max()}) {
        bool whole = false;
        PARE_ASSIGN_OR_RETURN(std::string bytes, read_bytes(path, limit, whole));
        PARE_RETURN_IF_ERROR(check_jpeg_huffman_tables(bytes, true, path));
        ByteStream stream(bytes);
        int width = 0, height = 0, channels = 0;
        if (stbi_info_from_callbacks(&ByteStream::callbacks, &stream, &width, &height, &channels)) {
            ImageInfo info;
            info.height = height;
            info.width = width;
            info.channels = channels;
            return info;
        }
        if (whole || !stream.read_past_end()) break;
    }
    return decode_error(path);
}

Result<DecodedImage> decode_image(const std::string& path, int channels) {
    bool whole = false;
    PARE_ASSIGN_OR_RETURN(std::string bytes, read_bytes(path, std::numeric_limits<size_t>::max(), whole));
    PARE_RETURN_IF_ERROR(check_jpeg_huffman_tables(bytes, false, path));
    ByteStream stream(bytes);
    int width = 0, height = 0, file_channels = 0;
    DecodedImage image;
    stbi_uc* pixels =
        stbi_load_from_callbacks(&ByteStream::callbacks, &stream, &width, &height, &file_channels, channels);
    image.pixels = {pixels, &stbi_image_free};
    if (!image.pixels) return decode_error(path);
    if (stream.read_past_end()) return invalid_input("image '" + path + "' is truncated");
    image.height = height;
    image.width = width;
    image.channels = channels;
    return image;
}

}  // namespace pare

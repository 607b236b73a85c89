#include "data/image_decode.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

// stb_image compiled here only, restricted to the formats pare reads. Static linkage keeps its symbols out of the
// way of any other copy (Debian also ships libstb.a); its own warnings are not ours to fix.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO  // files are read through callbacks (below) to detect truncation
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

// A file read through stb_image's callbacks. stb_image answers a read past the end of the data with zeros and
// carries on, so a truncated file can decode "successfully"; a read that returns nothing marks that it happened.
class CallbackFile {
public:
    explicit CallbackFile(const std::string& path) : file_(std::fopen(path.c_str(), "rb")) {}
    ~CallbackFile() {
        if (file_) std::fclose(file_);
    }
    CallbackFile(const CallbackFile&) = delete;
    CallbackFile& operator=(const CallbackFile&) = delete;

    bool is_open() const { return file_ != nullptr; }
    bool read_past_end() const { return read_past_end_; }
    static const stbi_io_callbacks callbacks;

private:
    static int read(void* user, char* dst, int bytes) {
        auto* self = static_cast<CallbackFile*>(user);
        const size_t got = std::fread(dst, 1, static_cast<size_t>(bytes), self->file_);
        if (got == 0 && bytes > 0) self->read_past_end_ = true;
        return static_cast<int>(got);
    }
    // As stb_image's own stdio reader does: seeking clears the end-of-file flag, so peek a byte to set it again
    // (otherwise a skip past the end leaves the JPEG marker search waiting forever for an end that never comes).
    static void skip(void* user, int bytes) {
        std::FILE* file = static_cast<CallbackFile*>(user)->file_;
        std::fseek(file, bytes, SEEK_CUR);
        const int next = std::fgetc(file);
        if (next != EOF) std::ungetc(next, file);
    }
    static int eof(void* user) { return std::feof(static_cast<CallbackFile*>(user)->file_); }

    std::FILE* file_;
    bool read_past_end_ = false;
};

const stbi_io_callbacks CallbackFile::callbacks = {&CallbackFile::read, &CallbackFile::skip, &CallbackFile::eof};

Status open_error(const std::string& path) {
    return invalid_input("cannot open image '" + path + "': " + std::strerror(errno));
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
    CallbackFile file(path);
    if (!file.is_open()) return open_error(path);
    int width = 0, height = 0, channels = 0;
    if (!stbi_info_from_callbacks(&CallbackFile::callbacks, &file, &width, &height, &channels)) {
        return decode_error(path);
    }
    ImageInfo info;
    info.height = height;
    info.width = width;
    info.channels = channels;
    return info;
}

Result<DecodedImage> decode_image(const std::string& path, int channels) {
    CallbackFile file(path);
    if (!file.is_open()) return open_error(path);
    int width = 0, height = 0, file_channels = 0;
    DecodedImage image;
    stbi_uc* pixels =
        stbi_load_from_callbacks(&CallbackFile::callbacks, &file, &width, &height, &file_channels, channels);
    image.pixels = {pixels, &stbi_image_free};
    if (!image.pixels) return decode_error(path);
    if (file.read_past_end()) return invalid_input("image '" + path + "' is truncated");
    image.height = height;
    image.width = width;
    image.channels = channels;
    return image;
}

}  // namespace pare

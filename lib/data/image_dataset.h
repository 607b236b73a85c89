// Image datasets: a folder of PNG/JPEG/BMP files, or a list file naming images (with optional integer labels).
// Every header is checked when the dataset opens so the sample count is exact; pixels are decoded a batch at a time
// when samples are read, never all at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/image_options.h"
#include "data/npy.h"

namespace pare {

/// The images of a dataset in source order, with their labels when a list file gives them.
struct ImageSource {
    std::vector<std::string> files;
    std::vector<int64_t> labels;  // one per file, or empty
};

/// True for the names of list files: .txt or .lst, in any letter case.
bool is_image_list_path(const std::string& path);

/// True if `folder` holds at least one PNG, JPEG or BMP file at any depth.
bool folder_has_images(const std::string& folder);

/// Every .png/.jpg/.jpeg/.bmp file under `folder` at any depth, sorted by path (bytewise). kInvalidInput when
/// there is none.
Result<ImageSource> find_images(const std::string& folder);

/// A list file: one image path per line, relative paths resolved against the list file's folder. A line may end
/// with whitespace and an integer, the image's label; then every line must. Blank lines and lines starting with
/// '#' are skipped, and surrounding whitespace is trimmed (paths may contain inner spaces).
Result<ImageSource> read_image_list(const std::string& path);

/// An opened image dataset.
struct ImageDataset {
    /// float32 [N, C, H, W] or [N, H, W, C], one row per readable image.
    std::unique_ptr<ArrayReader> reader;
    /// Index in ImageSource::files of each row.
    std::vector<int64_t> kept;
    /// One message per image left out with skip_bad, naming the file and why.
    std::vector<std::string> skipped;
};

/// Reads every image's header (with options.skip_bad, decodes every image, since damage past the header only shows
/// when decoding). An unreadable image is kInvalidInput naming it, or with skip_bad is left out with a warning.
/// Without options.size every image must have the same size. `options` must be valid.
Result<ImageDataset> open_images(const ImageSource& source, const ImageOptions& options);

}  // namespace pare

#include "data/image_dataset.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>

#include "core/file_io.h"
#include "core/log.h"
#include "data/image_decode.h"
#include "data/image_preprocess.h"

namespace fs = std::filesystem;

namespace pare {

namespace {

constexpr size_t kMaxSkipWarnings = 10;

std::string trim(const std::string& text) {
    const auto space = [](unsigned char c) { return std::isspace(c) != 0; };
    auto begin = std::find_if_not(text.begin(), text.end(), space);
    auto end = std::find_if_not(text.rbegin(), std::string::const_reverse_iterator(begin), space).base();
    return std::string(begin, end);
}

// Splits "path label" at the last whitespace run when what follows is an integer.
bool split_label(const std::string& line, std::string& path, int64_t& label) {
    const size_t space = line.find_last_of(" \t");
    if (space == std::string::npos) return false;
    const std::string tail = line.substr(space + 1);
    const char* end = tail.data() + tail.size();
    auto [ptr, error] = std::from_chars(tail.data(), end, label);
    if (error != std::errc() || ptr != end) return false;
    path = trim(line.substr(0, space));
    return !path.empty();
}

Status with_skip_hint(const Status& status) {
    return Status(status.code(), status.message() + " (--skip-bad leaves out unreadable images)");
}

// Channels to decode an image to: its own single gray channel when the output is gray too, else RGB.
int decode_channels(const ImageInfo& info, const ImageOptions& options) {
    return options.color == ColorMode::kGray && info.channels <= 2 ? 1 : 3;
}

Result<ImageInfo> check_image(const std::string& file, const ImageOptions& options) {
    PARE_ASSIGN_OR_RETURN(ImageInfo info, probe_image(file));
    // Damage past the header only shows when decoding, so skipping the bad ones means decoding every one.
    if (options.skip_bad) PARE_RETURN_IF_ERROR(decode_image(file, decode_channels(info, options)).status());
    return info;
}

/// Decodes the rows asked for, each image on its own (in parallel), straight into the batch.
class ImageReader : public ArrayReader {
public:
    ImageReader(std::vector<std::string> files, std::vector<ImageInfo> infos, const ImageOptions& options,
                Shape shape)
        : files_(std::move(files)), infos_(std::move(infos)), options_(options), shape_(std::move(shape)) {}

    DType dtype() const override { return DType::kF32; }
    const Shape& shape() const override { return shape_; }

    Result<Tensor> read_rows(int64_t start, int64_t count) override {
        PARE_RETURN_IF_ERROR(row_slice_shape(shape_, start, count, "the images").status());
        std::vector<int64_t> rows(static_cast<size_t>(count));
        for (int64_t i = 0; i < count; ++i) rows[static_cast<size_t>(i)] = start + i;
        return read_indices(rows);
    }

    Result<Tensor> read_indices(const std::vector<int64_t>& rows) override {
        Shape batch_shape = shape_;
        batch_shape[0] = static_cast<int64_t>(rows.size());
        for (int64_t row : rows) {
            if (row < 0 || row >= shape_[0]) {
                return invalid_input("image " + std::to_string(row) + " is outside the " + std::to_string(shape_[0]) +
                                     " images");
            }
        }
        PARE_ASSIGN_OR_RETURN(Tensor batch, Tensor::make(DType::kF32, batch_shape));
        const int64_t sample = shape_numel(shape_) / std::max<int64_t>(shape_[0], 1);
        float* dst = batch.data<float>();
        std::vector<Status> statuses(rows.size());
        const int64_t n = static_cast<int64_t>(rows.size());
#pragma omp parallel for schedule(dynamic)
        for (int64_t i = 0; i < n; ++i) {
            statuses[static_cast<size_t>(i)] = read_one(rows[static_cast<size_t>(i)], dst + i * sample);
        }
        for (const Status& status : statuses) PARE_RETURN_IF_ERROR(status);
        return batch;
    }

private:
    Status read_one(int64_t row, float* dst) const {
        const std::string& file = files_[static_cast<size_t>(row)];
        const ImageInfo& info = infos_[static_cast<size_t>(row)];
        Result<DecodedImage> image = decode_image(file, decode_channels(info, options_));
        if (!image.ok()) return with_skip_hint(image.status());
        if (image->height != info.height || image->width != info.width) {
            return invalid_input("image '" + file + "' changed since the dataset was opened");
        }
        const ImageGeometry geometry = image_geometry(image->height, image->width, options_);
        preprocess_image(image->pixels.get(), image->height, image->width, image->channels, geometry, options_, dst);
        return Status();
    }

    std::vector<std::string> files_;
    std::vector<ImageInfo> infos_;
    ImageOptions options_;
    Shape shape_;
};

}  // namespace

bool is_image_list_path(const std::string& path) {
    std::string lower = path;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    const auto ends_with = [&](const std::string& suffix) {
        return lower.size() > suffix.size() && lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    return ends_with(".txt") || ends_with(".lst");
}

bool folder_has_images(const std::string& folder) {
    std::error_code error;
    for (fs::recursive_directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
        if (it->is_regular_file(error) && is_image_file_name(it->path().string())) return true;
    }
    return false;
}

Result<ImageSource> find_images(const std::string& folder) {
    ImageSource source;
    std::error_code error;
    fs::recursive_directory_iterator it(folder, error), end;
    for (; !error && it != end; it.increment(error)) {
        if (it->is_regular_file(error) && is_image_file_name(it->path().string())) {
            source.files.push_back(it->path().string());
        }
    }
    if (error) return invalid_input("cannot list image folder '" + folder + "': " + error.message());
    if (source.files.empty()) return invalid_input("'" + folder + "' holds no PNG, JPEG or BMP images");
    std::sort(source.files.begin(), source.files.end());
    return source;
}

Result<ImageSource> read_image_list(const std::string& path) {
    PARE_ASSIGN_OR_RETURN(std::string text, read_file(path));
    const fs::path base = fs::path(path).parent_path();
    ImageSource source;
    size_t line_number = 0, unlabeled_line = 0, labeled_line = 0;
    for (size_t start = 0; start < text.size();) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string line = trim(text.substr(start, end - start));
        start = end + 1;
        ++line_number;
        if (line.empty() || line[0] == '#') continue;
        std::string file = line;
        int64_t label = 0;
        const bool labeled = split_label(line, file, label);
        (labeled ? labeled_line : unlabeled_line) = line_number;
        if (labeled_line && unlabeled_line) {
            return invalid_input("list '" + path + "': line " + std::to_string(labeled_line) +
                                 " has a label but line " + std::to_string(unlabeled_line) +
                                 " has none (label every image or none)");
        }
        const fs::path image(file);
        source.files.push_back(image.is_absolute() || base.empty() ? file : (base / image).string());
        if (labeled) source.labels.push_back(label);
    }
    if (source.files.empty()) return invalid_input("list '" + path + "' names no images");
    return source;
}

Result<ImageDataset> open_images(const ImageSource& source, const ImageOptions& options) {
    const int64_t n = static_cast<int64_t>(source.files.size());
    std::vector<Result<ImageInfo>> checked(source.files.size(), Result<ImageInfo>(ImageInfo()));
#pragma omp parallel for schedule(dynamic)
    for (int64_t i = 0; i < n; ++i) {
        checked[static_cast<size_t>(i)] = check_image(source.files[static_cast<size_t>(i)], options);
    }
    ImageDataset dataset;
    std::vector<std::string> files;
    std::vector<ImageInfo> infos;
    for (int64_t i = 0; i < n; ++i) {
        const Result<ImageInfo>& info = checked[static_cast<size_t>(i)];
        if (!info.ok()) {
            if (!options.skip_bad) return with_skip_hint(info.status());
            if (dataset.skipped.size() < kMaxSkipWarnings) log_warning("skipped: " + info.status().message());
            dataset.skipped.push_back(info.status().message());
            continue;
        }
        if (options.size.empty() && !infos.empty() &&
            (info->height != infos[0].height || info->width != infos[0].width)) {
            return invalid_input("image '" + source.files[static_cast<size_t>(i)] + "' is " +
                                 std::to_string(info->height) + "x" + std::to_string(info->width) + " but '" +
                                 files[0] + "' is " + std::to_string(infos[0].height) + "x" +
                                 std::to_string(infos[0].width) + ": give --image-size to resize them to one size");
        }
        files.push_back(source.files[static_cast<size_t>(i)]);
        infos.push_back(*info);
        dataset.kept.push_back(i);
    }
    if (dataset.skipped.size() > kMaxSkipWarnings) {
        log_warning("skipped " + std::to_string(dataset.skipped.size()) + " unreadable images in all");
    }
    if (files.empty()) return invalid_input("none of the " + std::to_string(n) + " images could be read");
    const int64_t height = options.size.empty() ? infos[0].height : options.size.height;
    const int64_t width = options.size.empty() ? infos[0].width : options.size.width;
    const int64_t samples = static_cast<int64_t>(files.size());
    const Shape shape = options.layout == ImageLayout::kNchw ? Shape{samples, options.channels(), height, width}
                                                              : Shape{samples, height, width, options.channels()};
    dataset.reader = std::make_unique<ImageReader>(std::move(files), std::move(infos), options, shape);
    return dataset;
}

}  // namespace pare

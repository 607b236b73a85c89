#include "data/image_options.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace pare {

namespace {

constexpr int64_t kMaxSide = 65536;

bool parse_int(const std::string& text, int64_t& value) {
    const char* end = text.data() + text.size();
    auto [ptr, error] = std::from_chars(text.data(), end, value);
    return error == std::errc() && ptr == end;
}

bool parse_double(const std::string& text, double& value) {
    if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
    char* end = nullptr;
    value = std::strtod(text.c_str(), &end);
    return end == text.c_str() + text.size() && std::isfinite(value);
}

std::string format_double(double value) {
    char text[32];
    auto [ptr, error] = std::to_chars(text, text + sizeof text, value);
    return error == std::errc() ? std::string(text, ptr) : std::to_string(value);
}

Result<double> parse_number(const std::string& text, const std::string& flag) {
    double value = 0;
    if (!parse_double(text, value)) return usage_error(flag + " '" + text + "' is not a finite number");
    return value;
}

// "0.5", or a fraction "1/255".
Result<double> parse_scale(const std::string& text) {
    const size_t slash = text.find('/');
    if (slash == std::string::npos) return parse_number(text, "--scale");
    double numerator = 0, denominator = 0;
    if (!parse_double(text.substr(0, slash), numerator) || !parse_double(text.substr(slash + 1), denominator) ||
        denominator == 0) {
        return usage_error("--scale '" + text + "' is not a number or a fraction such as 1/255");
    }
    return numerator / denominator;
}

Result<std::vector<double>> parse_list(const std::string& text, const std::string& flag) {
    std::vector<double> values;
    size_t start = 0;
    while (true) {
        const size_t comma = text.find(',', start);
        const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        double value = 0;
        if (!parse_double(item, value)) {
            return usage_error(flag + " '" + text + "' is not a number or a comma-separated list such as 0.5,0.5,0.5");
        }
        values.push_back(value);
        if (comma == std::string::npos) return values;
        start = comma + 1;
    }
}

// One of `names` (in enum order) -> its index.
Result<int> parse_choice(const std::string& text, const std::vector<std::string>& names, const std::string& flag) {
    std::string accepted;
    for (size_t i = 0; i < names.size(); ++i) {
        if (text == names[i]) return static_cast<int>(i);
        accepted += (i ? "|" : "") + names[i];
    }
    return usage_error(flag + " '" + text + "' is not one of " + accepted);
}

const std::vector<std::string> kResizeNames = {"stretch", "shorter-side", "letterbox"};
const std::vector<std::string> kColorNames = {"rgb", "bgr", "gray"};
const std::vector<std::string> kLayoutNames = {"nchw", "nhwc"};

std::string size_text(const ImageSize& size) {
    return std::to_string(size.height) + "x" + std::to_string(size.width);
}

std::string list_text(const std::vector<double>& values) {
    std::string text;
    for (double value : values) text += (text.empty() ? "" : ",") + format_double(value);
    return text;
}

}  // namespace

bool ImageOptions::is_default() const {
    const ImageOptions fresh;
    return size == fresh.size && resize == fresh.resize && center_crop == fresh.center_crop &&
           resize_size == fresh.resize_size && pad_value == fresh.pad_value && color == fresh.color &&
           layout == fresh.layout && scale == fresh.scale && mean == fresh.mean && std == fresh.std &&
           skip_bad == fresh.skip_bad;
}

Status ImageOptions::validate() const {
    using NamedSize = std::pair<ImageSize, const char*>;
    for (const auto& [value, flag] : {NamedSize{size, "--image-size"}, NamedSize{resize_size, "--resize-size"}}) {
        const bool in_range =
            value.height >= 1 && value.width >= 1 && value.height <= kMaxSide && value.width <= kMaxSide;
        if (!value.empty() && !in_range) {
            return usage_error(std::string(flag) + " " + size_text(value) + " is not a size in 1.." +
                               std::to_string(kMaxSide));
        }
    }
    if (center_crop && size.empty()) return usage_error("--crop center needs --image-size (the size cut out)");
    if (!resize_size.empty()) {
        if (!center_crop) return usage_error("--resize-size needs --crop center (without a crop use --image-size)");
        if (resize_size.height < size.height || resize_size.width < size.width) {
            return usage_error("--resize-size " + size_text(resize_size) + " is smaller than --image-size " +
                               size_text(size) + ": the crop must fit inside the resized image");
        }
    }
    if (!std::isfinite(scale) || scale == 0) return usage_error("--scale must be a finite non-zero number");
    if (!std::isfinite(pad_value)) return usage_error("--pad-value must be a finite number");
    using NamedList = std::pair<const std::vector<double>*, const char*>;
    for (const auto& [values, flag] : {NamedList{&mean, "--mean"}, NamedList{&std, "--std"}}) {
        if (!values->empty() && values->size() != 1 && static_cast<int64_t>(values->size()) != channels()) {
            return usage_error(std::string(flag) + " has " + std::to_string(values->size()) + " values but --color " +
                               kColorNames[static_cast<int>(color)] + " gives " +
                               (channels() == 1 ? "1 channel" : "3 channels") + " (give 1 value or 1 per channel)");
        }
        for (double value : *values) {
            if (!std::isfinite(value)) return usage_error(std::string(flag) + " values must be finite");
        }
    }
    for (double value : std) {
        if (value == 0) return usage_error("--std values must be non-zero");
    }
    return Status();
}

Result<ImageSize> parse_image_size(const std::string& text, const std::string& flag) {
    const size_t x = text.find('x');
    ImageSize size;
    bool ok = false;
    if (x == std::string::npos) {
        ok = parse_int(text, size.height);
        size.width = size.height;
    } else {
        ok = parse_int(text.substr(0, x), size.height) && parse_int(text.substr(x + 1), size.width);
    }
    if (!ok || size.height < 1 || size.width < 1 || size.height > kMaxSide || size.width > kMaxSide) {
        return usage_error(flag + " '" + text + "' is not HxW or S with sides in 1.." + std::to_string(kMaxSide) +
                           " (e.g. 224x224 or 224)");
    }
    return size;
}

Result<ImageOptions> parse_image_options(const ImageOptionStrings& text) {
    ImageOptions options;
    if (!text.image_size.empty()) {
        PARE_ASSIGN_OR_RETURN(options.size, parse_image_size(text.image_size, "--image-size"));
    }
    if (!text.resize.empty()) {
        if (text.image_size.empty()) return usage_error("--resize needs --image-size (the size to resize to)");
        PARE_ASSIGN_OR_RETURN(int mode, parse_choice(text.resize, kResizeNames, "--resize"));
        options.resize = static_cast<ResizeMode>(mode);
    }
    if (!text.crop.empty()) {
        PARE_ASSIGN_OR_RETURN(int crop, parse_choice(text.crop, {"none", "center"}, "--crop"));
        options.center_crop = crop == 1;
    }
    if (!text.resize_size.empty()) {
        PARE_ASSIGN_OR_RETURN(options.resize_size, parse_image_size(text.resize_size, "--resize-size"));
    }
    if (!text.pad_value.empty()) {
        if (options.resize != ResizeMode::kLetterbox && !options.center_crop) {
            return usage_error("--pad-value only applies to --resize letterbox or --crop center");
        }
        PARE_ASSIGN_OR_RETURN(options.pad_value, parse_number(text.pad_value, "--pad-value"));
    }
    if (!text.color.empty()) {
        PARE_ASSIGN_OR_RETURN(int color, parse_choice(text.color, kColorNames, "--color"));
        options.color = static_cast<ColorMode>(color);
    }
    if (!text.layout.empty()) {
        PARE_ASSIGN_OR_RETURN(int layout, parse_choice(text.layout, kLayoutNames, "--layout"));
        options.layout = static_cast<ImageLayout>(layout);
    }
    if (!text.scale.empty()) {
        PARE_ASSIGN_OR_RETURN(options.scale, parse_scale(text.scale));
    }
    if (!text.mean.empty()) {
        PARE_ASSIGN_OR_RETURN(options.mean, parse_list(text.mean, "--mean"));
    }
    if (!text.std.empty()) {
        PARE_ASSIGN_OR_RETURN(options.std, parse_list(text.std, "--std"));
    }
    options.skip_bad = text.skip_bad;
    PARE_RETURN_IF_ERROR(options.validate());
    return options;
}

std::string describe_image_options(const ImageOptions& options) {
    std::string text = "image-size=" + (options.size.empty() ? std::string("original") : size_text(options.size));
    text += " resize=" + kResizeNames[static_cast<int>(options.resize)];
    if (!options.resize_size.empty()) text += " resize-size=" + size_text(options.resize_size);
    text += std::string(" crop=") + (options.center_crop ? "center" : "none");
    text += " pad-value=" + format_double(options.pad_value);
    text += " color=" + kColorNames[static_cast<int>(options.color)];
    text += " layout=" + kLayoutNames[static_cast<int>(options.layout)];
    text += " scale=" + format_double(options.scale);
    text += " mean=" + (options.mean.empty() ? std::string("0") : list_text(options.mean));
    text += " std=" + (options.std.empty() ? std::string("1") : list_text(options.std));
    text += std::string(" skip-bad=") + (options.skip_bad ? "true" : "false");
    return text;
}

}  // namespace pare

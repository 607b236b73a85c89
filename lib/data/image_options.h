// How images become float32 tensors: output size, resizing, cropping, color order, layout and normalization, and the
// parsing of the CLI's text for each setting (the CLI binds its flags to ImageOptionStrings; CLI11 stays in apps/).
//
// The pipeline, per image (exact arithmetic in image_preprocess.h):
//   decode (8-bit; alpha dropped) -> scale to a frame and crop or pad it -> color -> (x * scale - mean[c]) / std[c]
//   -> nchw or nhwc float32.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace pare {

/// How an image is fitted to a frame of HxW pixels.
enum class ResizeMode {
    kStretch,      // scaled to exactly HxW, aspect ratio not kept
    kShorterSide,  // scaled, aspect kept, until it covers HxW (for a square frame: the shorter side is H), then
                   // the frame is cut from its center
    kLetterbox,    // scaled, aspect kept, until it fits inside HxW; the border is filled with pad_value
};

enum class ColorMode { kRgb, kBgr, kGray };  // gray = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601)
enum class ImageLayout { kNchw, kNhwc };

/// Height and width in pixels; 0x0 means "not given".
struct ImageSize {
    int64_t height = 0;
    int64_t width = 0;
    bool empty() const { return height == 0 && width == 0; }
    bool operator==(const ImageSize& other) const { return height == other.height && width == other.width; }
};

struct ImageOptions {
    /// --image-size: the output size. Empty: every image must have the same size, which is kept as it is.
    ImageSize size;
    /// --resize: how an image is fitted to the frame (the output size, or resize_size with center_crop).
    ResizeMode resize = ResizeMode::kStretch;
    /// --crop center: cut the output size from the center of the frame. With resize_size the image is first
    /// fitted to resize_size; without it the image is not scaled, and a side shorter than the output is padded.
    bool center_crop = false;
    /// --resize-size: the frame fitted before a center crop (only with center_crop; at least the output size).
    ImageSize resize_size;
    /// --pad-value: what padding (letterbox borders, crops larger than the image) holds, as a pixel value in 0..255
    /// units: it is normalized like every pixel.
    double pad_value = 0.0;
    /// --color: channel order of the output (gray: one channel).
    ColorMode color = ColorMode::kRgb;
    /// --layout: [N, C, H, W] or [N, H, W, C].
    ImageLayout layout = ImageLayout::kNchw;
    /// --scale, --mean, --std: output = (pixel * scale - mean[c]) / std[c], pixel in 0..255. mean and std hold one
    /// value (every channel) or one per output channel; empty means 0 and 1.
    double scale = 1.0 / 255.0;
    std::vector<double> mean;
    std::vector<double> std;
    /// --skip-bad: leave out images that cannot be decoded (with a warning) instead of failing.
    bool skip_bad = false;

    /// Output channels: 1 for gray, else 3.
    int64_t channels() const { return color == ColorMode::kGray ? 1 : 3; }
    /// True when nothing differs from a default-constructed ImageOptions.
    bool is_default() const;
    /// Checks that the settings fit together (see the field comments); kUsage naming the flag otherwise.
    Status validate() const;
};

/// The text of each image flag as given on the command line; an empty string means the flag was not given.
struct ImageOptionStrings {
    std::string image_size;   // "HxW" or "S" (= SxS)
    std::string resize;       // stretch | shorter-side | letterbox
    std::string resize_size;  // "HxW" or "S"
    std::string crop;         // center | none
    std::string pad_value;    // a number
    std::string color;        // rgb | bgr | gray
    std::string layout;       // nchw | nhwc
    std::string scale;        // a number or a fraction "1/255"
    std::string mean;         // "m" or "m1,m2,m3"
    std::string std;          // "s" or "s1,s2,s3"
    bool skip_bad = false;
};

/// Parses and validates every flag; a bad value is kUsage naming the flag and the accepted forms. Flags that only
/// matter together are checked too: --resize and --crop need --image-size, --resize-size needs --crop center,
/// --pad-value needs letterbox or a crop.
Result<ImageOptions> parse_image_options(const ImageOptionStrings& text);

/// "HxW" or "S" -> a size with both dims in 1..65536.
Result<ImageSize> parse_image_size(const std::string& text, const std::string& flag);

/// The settings in flag form, every default filled in, e.g. "image-size=224x224 resize=shorter-side
/// resize-size=256x256 crop=center pad-value=0 color=rgb layout=nchw scale=0.00392156862745098 mean=0.485,0.456,0.406
/// std=0.229,0.224,0.225 skip-bad=false" (numbers in shortest round-trip form), for reports and logs.
std::string describe_image_options(const ImageOptions& options);

}  // namespace pare

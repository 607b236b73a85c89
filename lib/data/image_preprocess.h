// One decoded image -> one float32 sample, with arithmetic fixed exactly so that results can be reproduced
// elsewhere (tests/fixtures/make_image_fixtures.py does, in numpy float64).
//
// Geometry. The image (h x w) is scaled to sh x sw, and output pixel (y, x) shows scaled pixel (y + top, x + left);
// positions outside the scaled image are padding (pad_value in every channel). For a frame of th x tw (the output
// size, or resize_size before a center crop), in integers, with round(a / b) = (2a + b) / (2b) (halves up):
//   stretch:      sh, sw = th, tw; top = left = 0.
//   shorter-side: if th * w >= tw * h then sh = th, sw = max(tw, round(w * th / h)), else sw = tw,
//                 sh = max(th, round(h * tw / w)); top = (sh - th) / 2, left = (sw - tw) / 2.
//   letterbox:    if th * w <= tw * h then sh = th, sw = max(1, min(tw, round(w * th / h))), else sw = tw,
//                 sh = max(1, min(th, round(h * tw / w))); top = -((th - sh) / 2), left = -((tw - sw) / 2).
//   center crop of the H x W output from the frame: top += (th - H) / 2, left += (tw - W) / 2. Without
//                 resize_size the frame is the image itself (sh, sw = h, w) and top = (h - H) / 2 (negative: padding).
// Divisions by 2 truncate toward zero: an odd excess is cropped, or padded, one pixel more at the bottom and right.
//
// Resampling is bilinear with half-pixel centers, as OpenCV's INTER_LINEAR but in float64 and without rounding to
// 8 bits (and without antialiasing when shrinking). Along each axis, for scaled coordinate d of a source with n
// pixels scaled to m: s = (d + 0.5) * (n / m) - 0.5, clamped to [0, n - 1]; i0 = floor(s), i1 = min(i0 + 1, n - 1),
// f = s - i0. A channel's value is (1 - fy) * ((1 - fx) * p[y0][x0] + fx * p[y0][x1]) +
// fy * ((1 - fx) * p[y1][x0] + fx * p[y1][x1]), evaluated in that order. When m == n this is an exact copy.
//
// Color, after resampling each decoded channel: rgb keeps R, G, B; bgr writes B, G, R; gray is
// 0.299 * R + 0.587 * G + 0.114 * B (ITU-R BT.601), or the decoded value itself for a file stored as gray.
// Normalization: out = (v * scale - mean[c]) / std[c], in float64, then rounded once to float32.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "data/image_options.h"

namespace pare {

/// Where the output window lies on the scaled image (see the file comment).
struct ImageGeometry {
    int64_t scaled_height = 0;
    int64_t scaled_width = 0;
    int64_t top = 0;   // scaled row shown at output row 0; negative: the first -top rows are padding
    int64_t left = 0;  // scaled column shown at output column 0
    int64_t height = 0;  // output size
    int64_t width = 0;
};

/// The geometry for an image of height x width under `options` (whose size must be set, or equal the image's).
ImageGeometry image_geometry(int64_t height, int64_t width, const ImageOptions& options);

/// Writes one sample: options.channels() x H x W floats (nchw) or H x W x channels (nhwc) at `dst`. `pixels` are
/// 8-bit interleaved, height x width x channels with channels 1 (a gray file, only with ColorMode::kGray) or 3 (RGB).
void preprocess_image(const uint8_t* pixels, int64_t height, int64_t width, int channels,
                      const ImageGeometry& geometry, const ImageOptions& options, float* dst);

}  // namespace pare

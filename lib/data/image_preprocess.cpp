#include "data/image_preprocess.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace pare {

namespace {

// round(a / b) for a >= 0, b > 0, halves up.
int64_t round_div(int64_t a, int64_t b) { return (2 * a + b) / (2 * b); }

// The scaled size of an h x w image for a th x tw frame, and where the frame starts on it.
void fit_to_frame(int64_t h, int64_t w, int64_t th, int64_t tw, ResizeMode mode, ImageGeometry& g) {
    switch (mode) {
    case ResizeMode::kStretch:
        g.scaled_height = th;
        g.scaled_width = tw;
        break;
    case ResizeMode::kShorterSide:
        if (th * w >= tw * h) {
            g.scaled_height = th;
            g.scaled_width = std::max(tw, round_div(w * th, h));
        } else {
            g.scaled_width = tw;
            g.scaled_height = std::max(th, round_div(h * tw, w));
        }
        break;
    case ResizeMode::kLetterbox:
        if (th * w <= tw * h) {
            g.scaled_height = th;
            g.scaled_width = std::max<int64_t>(1, std::min(tw, round_div(w * th, h)));
        } else {
            g.scaled_width = tw;
            g.scaled_height = std::max<int64_t>(1, std::min(th, round_div(h * tw, w)));
        }
        break;
    }
    g.top = (g.scaled_height - th) / 2;
    g.left = (g.scaled_width - tw) / 2;
}

// Per output index along one axis: the two source pixels and the weight of the second, or `inside` false for
// padding.
struct AxisTap {
    bool inside = false;
    int64_t i0 = 0;
    int64_t i1 = 0;
    double f = 0.0;
};

std::vector<AxisTap> axis_taps(int64_t out, int64_t offset, int64_t scaled, int64_t source) {
    std::vector<AxisTap> taps(static_cast<size_t>(out));
    const double ratio = static_cast<double>(source) / static_cast<double>(scaled);
    for (int64_t o = 0; o < out; ++o) {
        const int64_t d = o + offset;
        AxisTap& tap = taps[static_cast<size_t>(o)];
        if (d < 0 || d >= scaled) continue;
        tap.inside = true;
        double s = (static_cast<double>(d) + 0.5) * ratio - 0.5;
        s = std::min(std::max(s, 0.0), static_cast<double>(source - 1));
        tap.i0 = static_cast<int64_t>(std::floor(s));
        tap.i1 = std::min(tap.i0 + 1, source - 1);
        tap.f = s - static_cast<double>(tap.i0);
    }
    return taps;
}

}  // namespace

ImageGeometry image_geometry(int64_t height, int64_t width, const ImageOptions& options) {
    ImageGeometry g;
    g.height = options.size.empty() ? height : options.size.height;
    g.width = options.size.empty() ? width : options.size.width;
    if (options.center_crop) {
        if (options.resize_size.empty()) {
            g.scaled_height = height;
            g.scaled_width = width;
        } else {
            fit_to_frame(height, width, options.resize_size.height, options.resize_size.width, options.resize, g);
        }
        const int64_t frame_height = options.resize_size.empty() ? height : options.resize_size.height;
        const int64_t frame_width = options.resize_size.empty() ? width : options.resize_size.width;
        g.top += (frame_height - g.height) / 2;
        g.left += (frame_width - g.width) / 2;
    } else {
        fit_to_frame(height, width, g.height, g.width, options.resize, g);
    }
    return g;
}

void preprocess_image(const uint8_t* pixels, int64_t height, int64_t width, int channels,
                      const ImageGeometry& geometry, const ImageOptions& options, float* dst) {
    const std::vector<AxisTap> rows = axis_taps(geometry.height, geometry.top, geometry.scaled_height, height);
    const std::vector<AxisTap> cols = axis_taps(geometry.width, geometry.left, geometry.scaled_width, width);
    const int64_t out_channels = options.channels();
    double mean[3], std[3];
    for (int64_t c = 0; c < out_channels; ++c) {
        auto at = [c](const std::vector<double>& values, double fallback) {
            return values.empty() ? fallback : values[values.size() == 1 ? 0 : static_cast<size_t>(c)];
        };
        mean[c] = at(options.mean, 0.0);
        std[c] = at(options.std, 1.0);
    }
    const bool weighted_gray = options.color == ColorMode::kGray && channels == 3;
    const bool bgr = options.color == ColorMode::kBgr;
    const int source_channel[3] = {bgr ? 2 : 0, 1, bgr ? 0 : 2};
    const int64_t plane = geometry.height * geometry.width;
    const bool nchw = options.layout == ImageLayout::kNchw;
    double value[3] = {0.0, 0.0, 0.0};
    for (int64_t y = 0; y < geometry.height; ++y) {
        const AxisTap& ty = rows[static_cast<size_t>(y)];
        for (int64_t x = 0; x < geometry.width; ++x) {
            const AxisTap& tx = cols[static_cast<size_t>(x)];
            const bool inside = ty.inside && tx.inside;
            if (inside) {
                const uint8_t* p00 = pixels + (ty.i0 * width + tx.i0) * channels;
                const uint8_t* p01 = pixels + (ty.i0 * width + tx.i1) * channels;
                const uint8_t* p10 = pixels + (ty.i1 * width + tx.i0) * channels;
                const uint8_t* p11 = pixels + (ty.i1 * width + tx.i1) * channels;
                for (int c = 0; c < channels; ++c) {
                    value[c] = (1.0 - ty.f) * ((1.0 - tx.f) * p00[c] + tx.f * p01[c]) +
                               ty.f * ((1.0 - tx.f) * p10[c] + tx.f * p11[c]);
                }
            }
            for (int64_t c = 0; c < out_channels; ++c) {
                double v = options.pad_value;
                if (inside && weighted_gray) v = 0.299 * value[0] + 0.587 * value[1] + 0.114 * value[2];
                else if (inside) v = value[channels == 1 ? 0 : source_channel[c]];
                const int64_t pixel = y * geometry.width + x;
                dst[nchw ? c * plane + pixel : pixel * out_channels + c] =
                    static_cast<float>((v * options.scale - mean[c]) / std[c]);
            }
        }
    }
}

}  // namespace pare

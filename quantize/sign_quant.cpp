#include "quantize/sign_quant.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace pare {

float binary_scale(const std::vector<float>& values) {
    double sum = 0.0;
    for (float v : values) sum += std::fabs(static_cast<double>(v));
    return values.empty() ? 0.0f : static_cast<float>(sum / static_cast<double>(values.size()));
}

float ternary_scale(const std::vector<float>& values) {
    std::vector<double> magnitudes;
    magnitudes.reserve(values.size());
    for (float v : values) magnitudes.push_back(std::fabs(static_cast<double>(v)));
    std::sort(magnitudes.begin(), magnitudes.end(), std::greater<double>());
    double sum = 0.0, best_gain = 0.0, best_scale = 0.0;
    for (size_t m = 1; m <= magnitudes.size(); ++m) {
        sum += magnitudes[m - 1];
        const double gain = sum * sum / static_cast<double>(m);
        if (gain > best_gain) {
            best_gain = gain;
            best_scale = sum / static_cast<double>(m);
        }
    }
    return static_cast<float>(best_scale);
}

}  // namespace pare

#include "quantize/kmeans.h"

#include <algorithm>
#include <cmath>

namespace pare {

std::vector<float> kmeans_1d(const std::vector<float>& values, int64_t k) {
    std::vector<double> sorted;
    sorted.reserve(values.size());
    for (float v : values) {
        if (std::isfinite(v)) sorted.push_back(v);
    }
    std::sort(sorted.begin(), sorted.end());
    if (sorted.empty()) return std::vector<float>(static_cast<size_t>(k), 0.0f);
    std::vector<double> distinct;
    for (double v : sorted) {
        if (distinct.empty() || v != distinct.back()) distinct.push_back(v);
        if (static_cast<int64_t>(distinct.size()) > k) break;
    }
    std::vector<double> centres;
    if (static_cast<int64_t>(distinct.size()) <= k) {
        centres = distinct;
    } else {
        // prefix[i] = sum of the i smallest values: any cluster (a run of the sorted values) has its mean in O(1).
        const auto n = static_cast<int64_t>(sorted.size());
        std::vector<double> prefix(static_cast<size_t>(n) + 1, 0.0);
        for (int64_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + sorted[i];
        auto mean = [&](int64_t begin, int64_t end) { return (prefix[end] - prefix[begin]) / (end - begin); };
        centres.resize(static_cast<size_t>(k));
        for (int64_t j = 0; j < k; ++j) centres[j] = mean(j * n / k, (j + 1) * n / k);
        // ends[j]: one past the last sorted value of cluster j. Centres stay ascending, so clusters are runs.
        std::vector<int64_t> ends(static_cast<size_t>(k), -1);
        for (int iteration = 0; iteration < kKmeansMaxIterations; ++iteration) {
            bool changed = false;
            int64_t begin = 0;
            for (int64_t j = 0; j < k; ++j) {
                int64_t end = n;
                if (j + 1 < k) {
                    const double boundary = 0.5 * (centres[j] + centres[j + 1]);  // ties go to the lower centre
                    end = std::upper_bound(sorted.begin() + begin, sorted.end(), boundary) - sorted.begin();
                }
                if (end != ends[j]) changed = true;
                ends[j] = end;
                begin = end;
            }
            if (!changed) break;
            begin = 0;
            for (int64_t j = 0; j < k; ++j) {
                if (ends[j] > begin) centres[j] = mean(begin, ends[j]);
                begin = ends[j];
            }
        }
    }
    std::vector<float> table(static_cast<size_t>(k));
    for (int64_t j = 0; j < k; ++j) {
        table[j] = static_cast<float>(centres[std::min<size_t>(static_cast<size_t>(j), centres.size() - 1)]);
    }
    return table;
}

int64_t nearest_entry(float value, const std::vector<float>& table) {
    const double v = std::isnan(value) ? 0.0 : static_cast<double>(value);
    const auto above = std::lower_bound(table.begin(), table.end(), v,
                                        [](float entry, double x) { return static_cast<double>(entry) < x; });
    if (above == table.begin()) return 0;
    if (above == table.end()) return static_cast<int64_t>(table.size()) - 1;
    const int64_t hi = above - table.begin();
    // Among equal entries the lowest index.
    int64_t lo = hi - 1;
    while (lo > 0 && table[lo - 1] == table[lo]) --lo;
    return v - table[lo] <= static_cast<double>(table[hi]) - v ? lo : hi;
}

}  // namespace pare

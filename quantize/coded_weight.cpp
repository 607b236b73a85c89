#include "quantize/coded_weight.h"

#include <cmath>
#include <string>

#include "quantize/kmeans.h"
#include "quantize/log_quant.h"
#include "quantize/sign_quant.h"

namespace pare {

namespace {

constexpr int kCodebookMinBits = 2;
constexpr int kCodebookMaxBits = 8;

CodedWeight code_log(const std::vector<std::vector<float>>& channels, int bits) {
    CodedWeight coded;
    coded.scheme = CodeScheme::kLog;
    coded.bits = bits;
    coded.table = log_codebook(bits);
    coded.entries = static_cast<int64_t>(coded.table.size());
    for (const auto& channel : channels) {
        const float scale = choose_log_scale(channel, bits);
        coded.scales.push_back(scale);
        std::vector<uint8_t> codes;
        codes.reserve(channel.size());
        for (float v : channel) codes.push_back(log_encode(v, scale, bits));
        coded.codes.push_back(std::move(codes));
    }
    return coded;
}

std::vector<uint8_t> nearest_codes(const std::vector<float>& values, const std::vector<float>& table) {
    std::vector<uint8_t> codes;
    codes.reserve(values.size());
    for (float v : values) codes.push_back(static_cast<uint8_t>(nearest_entry(v, table)));
    return codes;
}

// The root mean square of a channel, 1 when it is zero (any scale decodes zeros exactly).
float rms(const std::vector<float>& values) {
    double sum = 0.0;
    for (float v : values) sum += static_cast<double>(v) * v;
    const auto r = values.empty() ? 0.0f : static_cast<float>(std::sqrt(sum / static_cast<double>(values.size())));
    return r > 0.0f && std::isfinite(r) ? r : 1.0f;
}

// One table for channels normalised by their RMS, then per-channel least-squares scales for the chosen codes.
CodedWeight code_scaled_codebook(const std::vector<std::vector<float>>& channels, int bits) {
    CodedWeight coded;
    coded.scheme = CodeScheme::kCodebook;
    coded.bits = bits;
    coded.entries = int64_t(1) << bits;
    std::vector<float> normalised, norms;
    for (const auto& channel : channels) {
        norms.push_back(rms(channel));
        for (float v : channel) normalised.push_back(v / norms.back());
    }
    coded.table = kmeans_1d(normalised, coded.entries);
    for (size_t c = 0; c < channels.size(); ++c) {
        std::vector<uint8_t> codes;
        codes.reserve(channels[c].size());
        double dot = 0.0, norm = 0.0;
        for (float v : channels[c]) {
            codes.push_back(static_cast<uint8_t>(nearest_entry(v / norms[c], coded.table)));
            const double t = coded.table[codes.back()];
            dot += t * v;
            norm += t * t;
        }
        const auto refit = norm > 0.0 ? static_cast<float>(dot / norm) : 0.0f;
        coded.scales.push_back(refit > 0.0f && std::isfinite(refit) ? refit : norms[c]);
        coded.codes.push_back(std::move(codes));
    }
    return coded;
}

CodedWeight code_codebook(const std::vector<std::vector<float>>& channels, int bits, CodebookTables tables) {
    if (tables == CodebookTables::kScaled) return code_scaled_codebook(channels, bits);
    const bool per_channel = tables == CodebookTables::kPerChannel;
    CodedWeight coded;
    coded.scheme = CodeScheme::kCodebook;
    coded.bits = bits;
    coded.entries = int64_t(1) << bits;
    coded.shared_table = !per_channel;
    if (per_channel) {
        for (const auto& channel : channels) {
            const std::vector<float> table = kmeans_1d(channel, coded.entries);
            coded.codes.push_back(nearest_codes(channel, table));
            coded.table.insert(coded.table.end(), table.begin(), table.end());
        }
        return coded;
    }
    std::vector<float> all;
    for (const auto& channel : channels) all.insert(all.end(), channel.begin(), channel.end());
    coded.table = kmeans_1d(all, coded.entries);
    for (const auto& channel : channels) coded.codes.push_back(nearest_codes(channel, coded.table));
    return coded;
}

// Binary and ternary: a fixed table of signs, one L2-optimal scale per channel.
CodedWeight code_signs(const std::vector<std::vector<float>>& channels, bool ternary) {
    CodedWeight coded;
    coded.scheme = ternary ? CodeScheme::kTernary : CodeScheme::kBinary;
    coded.bits = ternary ? 2 : 1;
    coded.table = ternary ? std::vector<float>{0.0f, 1.0f, -1.0f} : std::vector<float>{-1.0f, 1.0f};
    coded.entries = static_cast<int64_t>(coded.table.size());
    for (const auto& channel : channels) {
        const float scale = ternary ? ternary_scale(channel) : binary_scale(channel);
        coded.scales.push_back(scale);
        std::vector<uint8_t> codes;
        codes.reserve(channel.size());
        for (float v : channel) {
            if (!ternary) {
                codes.push_back(v >= 0.0f ? 1 : 0);
            } else {
                // Nearest of {0, +s, -s}: nonzero beyond s / 2 (a tie keeps 0).
                const bool kept = std::fabs(static_cast<double>(v)) > 0.5 * static_cast<double>(scale);
                codes.push_back(!kept ? 0 : v > 0.0f ? 1 : 2);
            }
        }
        coded.codes.push_back(std::move(codes));
    }
    return coded;
}

}  // namespace

float CodedWeight::decode(int64_t channel, uint8_t code) const {
    const float value = table[static_cast<size_t>((shared_table ? 0 : channel * entries) + code)];
    return scales.empty() ? value : value * scales[static_cast<size_t>(channel)];
}

uint8_t CodedWeight::encode(int64_t channel, float value) const {
    const float scale = scales.empty() ? 1.0f : scales[static_cast<size_t>(channel)];
    switch (scheme) {
        case CodeScheme::kLog:
            return log_encode(value, scale, bits);
        case CodeScheme::kBinary:
            return value >= 0.0f ? 1 : 0;
        case CodeScheme::kTernary:
            if (!(std::fabs(static_cast<double>(value)) > 0.5 * static_cast<double>(scale))) return 0;
            return value > 0.0f ? 1 : 2;
        case CodeScheme::kCodebook:
            break;
    }
    const auto begin = table.begin() + (shared_table ? 0 : channel * entries);
    const std::vector<float> channel_table(begin, begin + entries);
    return static_cast<uint8_t>(nearest_entry(scales.empty() ? value : value / scale, channel_table));
}

Result<CodedWeight> code_weight(const std::vector<std::vector<float>>& channels, const CodeSpec& spec) {
    switch (spec.scheme) {
        case CodeScheme::kLog:
            if (spec.bits < kLogMinBits || spec.bits > kLogMaxBits) {
                return invalid_input("log quantization takes " + std::to_string(kLogMinBits) + " to " +
                                     std::to_string(kLogMaxBits) + " bits, not " + std::to_string(spec.bits));
            }
            return code_log(channels, spec.bits);
        case CodeScheme::kCodebook:
            if (spec.bits < kCodebookMinBits || spec.bits > kCodebookMaxBits) {
                return invalid_input("codebook quantization takes " + std::to_string(kCodebookMinBits) + " to " +
                                     std::to_string(kCodebookMaxBits) + " bits, not " + std::to_string(spec.bits));
            }
            return code_codebook(channels, spec.bits, spec.tables);
        case CodeScheme::kBinary:
            return code_signs(channels, false);
        case CodeScheme::kTernary:
            return code_signs(channels, true);
    }
    return invalid_input("unknown code scheme");
}

}  // namespace pare

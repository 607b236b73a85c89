// A weight as small integer codes indexing a table of float values, with the table shared by the whole tensor or one
// per output channel, and an optional per-channel scale: the one storage form of the log, codebook, binary and
// ternary schemes. Each scheme only chooses the codes and tables (code_weight); weight_only_rewriter writes every
// CodedWeight the same way (docs/formats.md).
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"

namespace pare {

/// The weight-only schemes stored as codes + table.
enum class CodeScheme { kLog, kCodebook, kBinary, kTernary };

/// The codebook scheme's tables: one k-means table per output channel; one per tensor; or one per tensor clustered
/// over the channels normalised by their RMS, times a per-channel least-squares scale.
enum class CodebookTables { kPerChannel, kPerTensor, kScaled };

/// Codes and tables of one weight, seen as channels (the output-channel slices of the weight).
struct CodedWeight {
    int bits = 4;                             // stored width of one code: UINT4 when <= 4, else UINT8
    int64_t entries = 0;                      // table values per channel; every code is < entries <= 2^bits
    std::vector<std::vector<uint8_t>> codes;  // per channel, in the channel's element order
    bool shared_table = true;                 // table: `entries` values for every channel, or channels x entries
    std::vector<float> table;
    std::vector<float> scales;  // empty, or one per channel multiplying its table values

    CodeScheme scheme = CodeScheme::kLog;  // how encode() picks a code

    /// Value a code of channel `channel` decodes to (table value x scale, in float32).
    float decode(int64_t channel, uint8_t code) const;
    /// The code of any value for channel `channel` with these tables and scales: the scheme's rounding (log_encode;
    /// the nearest entry; the sign; the nearest of 0 and +/- scale). GPTQ rounds its updated weights with it.
    uint8_t encode(int64_t channel, float value) const;
};

/// How code_weight encodes: the scheme, its bits (log 3..8, codebook 2..8; binary and ternary ignore it) and the
/// codebook's tables.
struct CodeSpec {
    CodeScheme scheme = CodeScheme::kLog;
    int bits = 4;
    CodebookTables tables = CodebookTables::kScaled;
};

/// Encodes a weight given as its channels. log: log_codebook(bits) shared, choose_log_scale per channel. codebook:
/// kmeans_1d with 2^bits centres per channel or over the whole tensor, codes by nearest_entry, no scales; scaled:
/// kmeans_1d over every w / rms(channel), codes by nearest_entry of w / rms, then each channel's scale refitted to
/// <w, t> / <t, t> (t the channel's table values; the RMS when that is not positive). binary:
/// table {-1, +1}, code = (w >= 0), scale binary_scale. ternary: table {0, +1, -1}, scale ternary_scale, code the
/// nearest of {0, +s, -s}. invalid_input() for bits outside the scheme's range.
Result<CodedWeight> code_weight(const std::vector<std::vector<float>>& channels, const CodeSpec& spec);

}  // namespace pare

// Options of each subcommand as parsed by main.cpp (the only file that includes CLI11), and their entry points.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/image_options.h"

namespace pare {

class Report;

/// Flags every subcommand takes.
struct GlobalOptions {
    int threads = 0;  // 0: all cores
    std::string device = "cpu";
    uint64_t seed = 0;
    std::string report_path;  // "" none, "-" stdout
    bool quiet = false;
    bool verbose = false;
    std::string progress = "auto";
    std::vector<std::string> argv;
};

/// How a subcommand reads its datasets: image preprocessing (image folders and lists only) and read order.
struct DataOptions {
    ImageOptionStrings image;
    bool shuffle = false;  // read in the order seeded by --seed (with a limit: a seeded random subset)
};

struct InspectOptions {
    std::string model;
    bool json = false;
};

struct EvalOptions {
    std::string model;
    std::string data;
    std::string labels;   // "" none
    std::string compare;  // reference model, "" none
    int64_t batch = 0;    // 0: the model's fixed batch, else 32
    int64_t limit = 0;    // 0: every sample
    bool per_layer = false;
    std::string predictions;  // .npy of top-1 classes to write, "" none
    DataOptions data_options;
};

struct BenchOptions {
    std::string model;
    int64_t batch = 0;  // 0: the model's fixed batch, else 1
    int64_t warmup = 5;
    int64_t repeat = 50;
    std::vector<std::string> shapes;  // "name=1x3x224x224"
    std::string data;                 // "" random inputs
    DataOptions data_options;
};

struct QuantizeOptions {
    std::string model;
    std::string output;  // -o
    std::string data;    // calibration data, or
    std::string table;   // a calibration table from pare calibrate
    std::string scheme = "int8";
    int64_t block_size = 32;  // int4: weights per scale along the reduction axis (0: one scale per output channel)
    int bits = 4;             // log, codebook: bits per weight code
    std::string codebook = "scaled";      // codebook: per-channel, per-tensor or scaled (per-tensor x channel scale)
    std::string weight_rounding;          // rtn or gptq; empty: resolve_default_weight_rounding()
    std::string activations = "u8";       // u8 (asymmetric) or s8-symmetric
    int activation_bits = 8;
    std::string weights = "per-channel";
    std::string calibration = "percentile";  // smallest worst top-1 drop on the samples: bench/calibration_methods.sh
    double percentile = 99.999;
    std::vector<std::string> exclude;    // node names, op types or regular expressions over node names
    std::string format = "qdq";          // qdq or qoperator (QLinearConv / QLinearMatMul)
    std::vector<std::string> keep_fp32;  // fp16: op types kept in float32 beside the default list
    std::string eval_data;
    std::string labels;
    int64_t batch = 64;
    int64_t limit = 0;            // evaluation samples (0: all)
    int64_t samples = 0;          // calibration samples (0: all)
    DataOptions data_options;     // for both --data and --eval-data
    double max_drop = -1;         // --max-drop in points (negative: no budget)
    int64_t max_size = 0;         // --max-size in bytes (0: none)
    double time_budget = 0;       // --time-budget in seconds for the budget search (0: none)
    std::string emit_exclusions;  // --emit-exclusions: JSON array of the layers left in float
    // Recovery algorithms of the int8/int16 schemes (quantize/equalize.h, smoothquant.h, bias_correction.h).
    bool equalize = false;
    double smoothquant = std::numeric_limits<double>::quiet_NaN();  // alpha; NaN: off
    bool bias_correction = false;
};

struct CalibrateOptions {
    std::string model;
    std::string data;
    std::string output;  // the calibration table (-o)
    std::string method = "entropy";
    int64_t batch = 64;
    int64_t samples = 0;  // 0: every sample
    double percentile = 99.999;
    int bits = 8;
    bool per_channel = false;
    DataOptions data_options;
};

/// Applies the global flags that configure the process: thread count, progress bars.
void apply_global_options(const GlobalOptions& global);

Status run_inspect(const InspectOptions& options, const GlobalOptions& global);
Status run_eval(const EvalOptions& options, const GlobalOptions& global);
/// The work of `pare eval` without printing: fills the report's inputs, config, accuracy, outputs, layers, timing
/// and latency sections (other commands reuse it to measure what they wrote).
Status evaluate_into_report(const EvalOptions& options, const GlobalOptions& global, Report& report);
Status run_bench(const BenchOptions& options, const GlobalOptions& global);
Status run_calibrate(const CalibrateOptions& options, const GlobalOptions& global);
Status run_quantize(const QuantizeOptions& options, const GlobalOptions& global);
/// True for the weight-only schemes below 8 bits (int4, log, codebook, binary, ternary), which run_quantize_weight_only
/// handles.
bool is_weight_only_scheme(const std::string& scheme);
Status run_quantize_weight_only(const QuantizeOptions& options, const GlobalOptions& global);

}  // namespace pare

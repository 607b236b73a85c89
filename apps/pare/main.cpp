// pare command line: all CLI11 code lives here; each subcommand's work is in cmd_<name>.cpp.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "commands.h"
#include "core/log.h"
#include "weight_rounding.h"

namespace {

// Global flags are accepted on every subcommand, before or after its own arguments.
void add_global_flags(CLI::App& app, pare::GlobalOptions& global) {
    app.add_option("--threads", global.threads, "Worker threads (0: all cores)")->capture_default_str();
    app.add_option("--device", global.device, "cpu or cuda[:i]")->capture_default_str();
    app.add_option("--seed", global.seed, "Seed for every random choice")->capture_default_str();
    app.add_option("--report", global.report_path, "Write the JSON report to FILE ('-': stdout)");
    app.add_flag("--quiet,-q", global.quiet, "Only errors on stderr");
    app.add_flag("--verbose,-v", global.verbose, "Explain decisions on stderr");
    app.add_option("--progress", global.progress, "Progress bar on stderr")
        ->check(CLI::IsMember({"auto", "always", "never"}))
        ->capture_default_str();
}

// Flags of every subcommand that reads a dataset: image preprocessing (image folders and list files) and order.
void add_data_flags(CLI::App& app, pare::DataOptions& data) {
    pare::ImageOptionStrings& image = data.image;
    app.add_option("--image-size", image.image_size, "Images: output size HxW (or S for SxS)");
    app.add_option("--resize", image.resize, "Images: stretch, shorter-side or letterbox (default stretch)");
    app.add_option("--resize-size", image.resize_size, "Images: frame HxW fitted before --crop center");
    app.add_option("--crop", image.crop, "Images: center or none (default none)");
    app.add_option("--pad-value", image.pad_value, "Images: padding pixel value in 0..255 (default 0)");
    app.add_option("--color", image.color, "Images: rgb, bgr or gray (default rgb)");
    app.add_option("--layout", image.layout, "Images: nchw or nhwc (default nchw)");
    app.add_option("--scale", image.scale, "Images: pixel multiplier before mean/std (default 1/255)");
    app.add_option("--mean", image.mean, "Images: mean to subtract, one value or one per channel (m1,m2,m3)");
    app.add_option("--std", image.std, "Images: standard deviation to divide by, one value or one per channel");
    app.add_flag("--skip-bad", image.skip_bad, "Images: leave out unreadable images with a warning");
    app.add_flag("--shuffle", data.shuffle,
                 "Read the data in an order seeded by --seed (with a limit: a random subset)");
}

int report_failure(const pare::Status& status) {
    std::fprintf(stderr, "pare: error: %s\n", status.message().c_str());
    return static_cast<int>(status.code());
}

}  // namespace

int main(int argc, char** argv) {
    pare::GlobalOptions global;
    for (int i = 0; i < argc; ++i) global.argv.emplace_back(argv[i]);

    CLI::App app{"pare: compress ONNX models (pruning, quantization, distillation) with an accuracy/size report"};
    app.set_version_flag("--version", std::string("pare ") + PARE_VERSION);
    app.require_subcommand(1);
    add_global_flags(app, global);
    app.fallthrough();

    pare::InspectOptions inspect;
    CLI::App* inspect_cmd = app.add_subcommand("inspect", "Describe a model: inputs, outputs, ops, parameters, layers");
    inspect_cmd->add_option("model", inspect.model, "ONNX model file ('-': stdin)")->required();
    inspect_cmd->add_flag("--json", inspect.json, "Print the JSON report instead of the summary");

    pare::EvalOptions eval;
    CLI::App* eval_cmd = app.add_subcommand("eval",
                                            "Accuracy on a dataset; with --compare, agreement and error "
                                            "against a reference model");
    eval_cmd->add_option("model", eval.model, "ONNX model file")->required();
    eval_cmd->add_option("--data", eval.data, "Inputs: .npy, .npz, ONNX test-data folder, image folder or image list")
        ->required();
    eval_cmd->add_option("--labels", eval.labels,
                         "Class labels (.npy of int64 or int32; default: an image list's label column)");
    eval_cmd->add_option("--compare", eval.compare, "Reference model to compare outputs with");
    eval_cmd->add_option("--batch", eval.batch, "Samples per batch (default: the model's fixed batch, else 32)");
    eval_cmd->add_option("--limit", eval.limit, "Use only the first N samples (0: all)")->capture_default_str();
    eval_cmd->add_flag("--per-layer", eval.per_layer, "Also compare intermediate tensors both models name alike");
    eval_cmd->add_option("--predictions", eval.predictions, "Write the top-1 class of every sample to FILE.npy");
    add_data_flags(*eval_cmd, eval.data_options);

    pare::BenchOptions bench;
    CLI::App* bench_cmd = app.add_subcommand("bench", "Latency and throughput on the engine");
    bench_cmd->add_option("model", bench.model, "ONNX model file")->required();
    bench_cmd->add_option("--batch", bench.batch, "Batch size (default: the model's fixed batch, else 1)");
    bench_cmd->add_option("--warmup", bench.warmup, "Untimed runs first")->capture_default_str();
    bench_cmd->add_option("--repeat", bench.repeat, "Timed runs")->capture_default_str();
    bench_cmd->add_option("--shape", bench.shapes, "Input shape NAME=D1xD2x... (for dynamic dimensions); repeatable");
    bench_cmd->add_option("--data", bench.data, "Take the inputs from the first batch of this dataset");
    add_data_flags(*bench_cmd, bench.data_options);

    pare::CalibrateOptions calibrate;
    CLI::App* calibrate_cmd =
        app.add_subcommand("calibrate", "Collect activation ranges on data into a calibration table");
    calibrate_cmd->add_option("model", calibrate.model, "ONNX model file")->required();
    calibrate_cmd
        ->add_option("--data", calibrate.data,
                     "Calibration inputs: .npy, .npz, ONNX test-data folder, image folder or image list")
        ->required();
    calibrate_cmd->add_option("-o,--output", calibrate.output, "Calibration table to write (JSON)")->required();
    calibrate_cmd->add_option("--method", calibrate.method, "Range method the summary reports (the table has all four)")
        ->check(CLI::IsMember({"minmax", "percentile", "entropy", "mse"}))
        ->capture_default_str();
    calibrate_cmd->add_option("--batch", calibrate.batch, "Samples per batch")->capture_default_str();
    calibrate_cmd->add_option("--samples", calibrate.samples, "Use only the first N samples (0: all)")
        ->capture_default_str();
    calibrate_cmd->add_option("--percentile", calibrate.percentile, "Percentile for the percentile method")
        ->check(CLI::Range(50.0, 100.0))
        ->capture_default_str();
    calibrate_cmd->add_option("--bits", calibrate.bits, "Target bit width for the entropy and mse methods")
        ->check(CLI::Range(2, 16))
        ->capture_default_str();
    calibrate_cmd->add_flag("--per-channel", calibrate.per_channel, "Also record min/max per channel (axis 1)");
    add_data_flags(*calibrate_cmd, calibrate.data_options);

    pare::QuantizeOptions quantize;
    CLI::App* quantize_cmd =
        app.add_subcommand("quantize", "Quantize to portable QDQ ONNX, measured against the float model");
    quantize_cmd->add_option("model", quantize.model, "Float ONNX model")->required();
    quantize_cmd->add_option("-o,--output", quantize.output, "Quantized model to write ('-': stdout)")->required();
    quantize_cmd->add_option("--data", quantize.data,
                             "Calibration inputs (.npy, .npz, ONNX test-data folder, image folder or list)");
    quantize_cmd->add_option("--table", quantize.table, "Calibration table from pare calibrate (instead of --data)");
    quantize_cmd
        ->add_option("--scheme", quantize.scheme,
                     "int8, int16 (static, calibrated), dynamic (int8 weights, activation scales at run time), "
                     "fp16 (float16 weights and activations), int4, log, codebook, binary or ternary "
                     "(weight-only); dynamic, fp16 and the weight-only schemes take no --data/--table "
                     "(the weight-only ones take --data for GPTQ rounding)")
        ->capture_default_str();
    quantize_cmd
        ->add_option("--block-size", quantize.block_size,
                     "--scheme int4 (weight-only): weights per scale along the reduction axis (0: per channel)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    quantize_cmd
        ->add_option("--bits", quantize.bits,
                     "--scheme log (power-of-two, 3..8) or codebook (k-means, 2..8): bits per weight code")
        ->check(CLI::Range(2, 8))
        ->capture_default_str();
    quantize_cmd
        ->add_option("--codebook", quantize.codebook,
                     "--scheme codebook: k-means tables per output channel, per tensor, or scaled (one "
                     "per tensor of the channels normalised by their RMS, times a scale per output channel)")
        ->check(CLI::IsMember({"per-channel", "per-tensor", "scaled"}))
        ->capture_default_str();
    quantize_cmd->add_option("--weight-rounding", quantize.weight_rounding,
                             "rtn (round to nearest) or gptq (rounds each layer's weight against its input Hessian "
                             "from --data; int8, int16 and the weight-only schemes); default gptq for the weight-only "
                             "schemes given --data, else rtn");
    quantize_cmd->add_option("--activations", quantize.activations, "u8 (asymmetric) or s8-symmetric")
        ->capture_default_str();
    quantize_cmd->add_option("--activation-bits", quantize.activation_bits, "8 or 16")
        ->check(CLI::IsMember({8, 16}))
        ->capture_default_str();
    quantize_cmd->add_option("--weights", quantize.weights, "per-channel or per-tensor")->capture_default_str();
    quantize_cmd->add_option("--calibration", quantize.calibration, "Range method: minmax, percentile, entropy, mse")
        ->check(CLI::IsMember({"minmax", "percentile", "entropy", "mse"}))
        ->capture_default_str();
    quantize_cmd->add_option("--percentile", quantize.percentile, "Percentile for --calibration percentile")
        ->check(CLI::Range(50.0, 100.0))
        ->capture_default_str();
    quantize_cmd
        ->add_option("--format", quantize.format,
                     "qdq (QuantizeLinear/DequantizeLinear pairs), qoperator "
                     "(QLinearConv/QLinearMatMul) or, for --scheme int4, "
                     "matmulnbits (com.microsoft MatMulNBits)")
        ->check(CLI::IsMember({"qdq", "qoperator", "matmulnbits"}))
        ->capture_default_str();
    quantize_cmd->add_option("--exclude", quantize.exclude, "Keep in float: node names, op types or regexes")
        ->delimiter(',');
    quantize_cmd
        ->add_option("--keep-fp32", quantize.keep_fp32,
                     "fp16: op types kept in float32 beside the default list (TopK, Resize, Range, CumSum...)")
        ->delimiter(',');
    quantize_cmd->add_option("--eval-data", quantize.eval_data, "Evaluation inputs: measure the written model");
    quantize_cmd->add_option("--labels", quantize.labels, "Labels of the evaluation data (top-1/top-5)");
    quantize_cmd->add_option("--batch", quantize.batch, "Samples per batch")->capture_default_str();
    quantize_cmd->add_option("--limit", quantize.limit, "Evaluate on the first N samples (0: all)")
        ->capture_default_str();
    quantize_cmd->add_option("--samples", quantize.samples, "Calibrate on the first N samples (0: all)")
        ->capture_default_str();
    quantize_cmd
        ->add_option("--max-drop", quantize.max_drop,
                     "Accuracy budget: top-1 drop in points with --labels, else points of disagreement with "
                     "the float model; the most damaging layers climb the scheme's ladder (int16 activations or "
                     "int8 weights, then float)")
        ->check(CLI::NonNegativeNumber);
    quantize_cmd->add_option("--max-size", quantize.max_size, "Size budget: bytes of the written model")
        ->check(CLI::PositiveNumber);
    quantize_cmd
        ->add_option("--time-budget", quantize.time_budget,
                     "Seconds for the budget search; then the best model so far is written")
        ->check(CLI::PositiveNumber);
    quantize_cmd->add_option("--emit-exclusions", quantize.emit_exclusions,
                             "Write the layers left in float as a JSON array of node names (nodes_to_exclude)");
    quantize_cmd->add_flag("--equalize", quantize.equalize,
                           "int8/int16: cross-layer equalization of consecutive convolutions before calibration");
    quantize_cmd->add_option("--smoothquant", quantize.smoothquant,
                             "int8/int16: SmoothQuant strength ALPHA in [0, 1] for MatMul/Gemm inputs");
    quantize_cmd->add_flag("--bias-correction", quantize.bias_correction,
                           "int8/int16: subtract each layer's mean output error (on --data) from its bias");
    add_data_flags(*quantize_cmd, quantize.data_options);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        if (error.get_exit_code() == 0) return app.exit(error);  // --help, --version
        std::fprintf(stderr, "pare: usage error: %s\n", error.what());
        std::fprintf(stderr, "Run 'pare --help' for usage.\n");
        return static_cast<int>(pare::ErrorCode::kUsage);
    }
    if (global.quiet && global.verbose) {
        return report_failure(pare::usage_error("--quiet and --verbose cannot be combined"));
    }
    pare::set_log_level(global.quiet     ? pare::LogLevel::kQuiet
                        : global.verbose ? pare::LogLevel::kVerbose
                                         : pare::LogLevel::kNormal);
    pare::apply_global_options(global);
    try {
        pare::Status status;
        if (inspect_cmd->parsed()) status = pare::run_inspect(inspect, global);
        if (eval_cmd->parsed()) status = pare::run_eval(eval, global);
        if (bench_cmd->parsed()) status = pare::run_bench(bench, global);
        if (calibrate_cmd->parsed()) status = pare::run_calibrate(calibrate, global);
        if (quantize_cmd->parsed()) {
            pare::resolve_default_weight_rounding(quantize);
            status = pare::run_quantize(quantize, global);
        }
        return status.ok() ? 0 : report_failure(status);
    } catch (const std::bad_alloc&) {
        return report_failure(pare::internal_error("out of memory"));
    } catch (const std::exception& error) {
        return report_failure(pare::internal_error(error.what()));
    }
}

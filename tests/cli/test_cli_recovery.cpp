// End-to-end tests of the recovery flags of pare quantize (int8/int16): --equalize, --smoothquant ALPHA,
// --bias-correction. Calibration on 64 images (and latency timed on batches of 8) keeps them cheap; accuracy is
// measured in bench/recovery.sh.
#include <doctest/doctest.h>

#include "cli_helpers.h"
#include "core/file_io.h"
#include "onnx/model_io.h"

using namespace pare_cli;

namespace {

std::vector<std::string> quantize_args(const std::string& model, const std::string& out,
                                       const std::vector<std::string>& flags) {
    std::vector<std::string> args = {"quantize",  sample_path("fmnist/" + model + ".onnx"),
                                     "-o",        out,
                                     "--data",    sample_path("fmnist/calib_x.npy"),
                                     "--samples", "64",
                                     "--batch",   "8",
                                     "--report",  "-"};
    args.insert(args.end(), flags.begin(), flags.end());
    return args;
}

}  // namespace

TEST_CASE("quantize --equalize balances mobilenet's Relu6 pairs and is a no-op on an MLP") {
    const std::string out = temp_file("mobilenet_equalized.onnx");
    const auto args = quantize_args("mobilenet", out, {"--equalize"});
    const nlohmann::json report = parse_report(run_pare(args));
    CHECK(report["config"]["equalize"] == true);
    CHECK(report["quantization"]["equalize"]["pairs"] == 10);
    CHECK(report["quantization"]["equalize"]["relu6_bounded"] == 10);
    CHECK(report["quantization"]["equalize"]["last_deviation"].get<double>() <= 1e-4);
    auto written = pare::load_model(out);
    REQUIRE(written.ok());
    int mins = 0;
    for (const auto& node : written->model.graph.nodes) mins += node.op_type() == "Min";
    CHECK(mins == 10);

    const nlohmann::json mlp = parse_report(run_pare(quantize_args("mlp", temp_file("mlp_eq.onnx"), {"--equalize"})));
    CHECK(mlp["quantization"]["equalize"]["pairs"] == 0);
}

TEST_CASE(
    "quantize --smoothquant smooths the MLP's Gemm/MatMul inputs, and --bias-correction corrects the CNN's layers") {
    const nlohmann::json smooth =
        parse_report(run_pare(quantize_args("mlp", temp_file("mlp_sq.onnx"), {"--smoothquant", "0.5"})));
    CHECK(smooth["config"]["smoothquant"] == 0.5);
    CHECK(smooth["quantization"]["smoothquant"]["layers"].get<int>() >= 2);
    CHECK(smooth["quantization"]["smoothquant"]["activations"].get<int>() >= 2);

    const std::string first = temp_file("cnn_bc.onnx"), second = temp_file("cnn_bc_again.onnx");
    const nlohmann::json corrected = parse_report(run_pare(quantize_args("cnn", first, {"--bias-correction"})));
    CHECK(corrected["config"]["bias_correction"] == true);
    const auto& bias = corrected["quantization"]["bias_correction"];
    CHECK(bias["layers"] == corrected["quantization"]["layers"]);
    // The CNN is a chain: one pass of the quantized model per layer, each correcting what reaches it.
    CHECK(bias["passes"] == corrected["quantization"]["layers"]);
    CHECK(bias["mean_shift_rms"].get<double>() > 0.0);
    parse_report(run_pare(quantize_args("cnn", second, {"--bias-correction"})));
    CHECK(pare::read_file(first).value() == pare::read_file(second).value());
}

TEST_CASE("quantize recovery flags: bad alpha, a scheme without calibration, or a table are usage errors") {
    const std::string out = temp_file("bad_recovery.onnx");
    const std::string model = sample_path("fmnist/mlp.onnx");
    check_one_error_line(
        run_pare({"quantize", model, "-o", out, "--data", sample_path("fmnist/calib_x.npy"), "--smoothquant", "1.5"}),
        2);
    check_one_error_line(run_pare({"quantize", model, "-o", out, "--scheme", "dynamic", "--equalize"}), 2);
    check_one_error_line(run_pare({"quantize", model, "-o", out, "--scheme", "int4", "--bias-correction"}), 2);
    check_one_error_line(
        run_pare({"quantize", model, "-o", out, "--table", temp_file("missing.json"), "--bias-correction"}), 2);
}

// End-to-end tests of the code + table schemes (codebook, binary, ternary) and of int4 --format matmulnbits.
#include <doctest/doctest.h>

#include "cli_helpers.h"
#include "onnx/model_io.h"

using namespace pare_cli;

namespace {

nlohmann::json quantize_cnn(const std::string& out, const std::vector<std::string>& flags) {
    std::vector<std::string> args = {
        "quantize", sample_path("fmnist/cnn.onnx"),   "-o",      out,   "--eval-data", sample_path("fmnist/eval_x.npy"),
        "--labels", sample_path("fmnist/eval_y.npy"), "--limit", "200", "--report",    "-"};
    args.insert(args.end(), flags.begin(), flags.end());
    return parse_report(run_pare(args));
}

}  // namespace

TEST_CASE("quantize --scheme codebook: 4-bit k-means table and channel scales, 6x smaller weights, byte-stable") {
    const std::string out = temp_file("cnn_cb4.onnx");
    const std::vector<std::string> flags = {"--scheme", "codebook", "--bits", "4"};
    const nlohmann::json report = quantize_cnn(out, flags);
    CHECK(report["config"]["scheme"] == "codebook");
    CHECK(report["config"]["codebook"] == "scaled");
    CHECK(report["config"]["weight_dtype"] == "uint4");
    CHECK(report["quantization"]["layers"] == 4);
    CHECK(report["size"]["weight_bytes_before"].get<double>() > 6 * report["size"]["weight_bytes_after"].get<double>());
    CHECK(report["accuracy"]["agreement"].get<double>() > 0.97);
    for (const auto& layer : report["layers"]) {  // null: decoded exactly
        CHECK((layer["weight_sqnr_db"].is_null() || layer["weight_sqnr_db"].get<double>() > 17.0));
    }
    const std::string first_sha = pare::load_model(out)->sha256;
    quantize_cnn(out, flags);
    CHECK(pare::load_model(out)->sha256 == first_sha);
}

TEST_CASE("quantize --scheme binary / ternary: one-bit and two-bit codes, ternary the closer") {
    const nlohmann::json binary = quantize_cnn(temp_file("cnn_binary.onnx"), {"--scheme", "binary"});
    const nlohmann::json ternary = quantize_cnn(temp_file("cnn_ternary.onnx"), {"--scheme", "ternary"});
    CHECK(binary["layers"][0]["bits"] == 1);
    CHECK(ternary["layers"][0]["bits"] == 2);
    CHECK(binary["config"]["weight_dtype"] == "uint4");
    for (size_t i = 0; i < binary["layers"].size(); ++i) {
        CHECK(ternary["layers"][i]["weight_sqnr_db"].get<double>() >
              binary["layers"][i]["weight_sqnr_db"].get<double>());
    }
}

TEST_CASE("quantize --scheme int4 --format matmulnbits: MatMul layers become MatMulNBits with pare's accuracy") {
    // mlp: its three Gemm layers (with biases) convert.
    const std::string nbits_out = temp_file("mlp_nbits.onnx"), dq_out = temp_file("mlp_int4.onnx");
    auto quantize = [](const std::string& out, std::vector<std::string> flags) {
        std::vector<std::string> args = {
            "quantize",    sample_path("fmnist/mlp.onnx"),   "-o",      out,   "--scheme", "int4",
            "--eval-data", sample_path("fmnist/eval_x.npy"), "--limit", "200", "--report", "-"};
        args.insert(args.end(), flags.begin(), flags.end());
        return parse_report(run_pare(args));
    };
    const nlohmann::json nbits = quantize(nbits_out, {"--format", "matmulnbits"});
    const nlohmann::json dq = quantize(dq_out, {});
    CHECK(nbits["config"]["format"] == "matmulnbits");
    const auto written = pare::load_model(nbits_out);
    REQUIRE(written.ok());
    int nbits_nodes = 0;
    for (const auto& node : written->model.graph.nodes) nbits_nodes += node.op_type() == "MatMulNBits" ? 1 : 0;
    CHECK(nbits_nodes == nbits["quantization"]["matmulnbits_layers"].get<int>());
    CHECK(nbits_nodes == 3);
    // Same codes and scales as the DequantizeLinear form: the same outputs up to summation order.
    CHECK(nbits["accuracy"]["agreement"].get<double>() == doctest::Approx(dq["accuracy"]["agreement"].get<double>()));
    // Flags that do not fit: one usage error line, exit 2.
    for (const auto& bad : std::vector<std::vector<std::string>>{
             {"--scheme", "log", "--format", "matmulnbits"},
             {"--scheme", "int8", "--format", "matmulnbits", "--data", sample_path("fmnist/calib_x.npy")},
             {"--scheme", "codebook", "--bits", "9"},
             {"--scheme", "codebook", "--codebook", "per-row"}}) {
        std::vector<std::string> args = {"quantize", sample_path("fmnist/mlp.onnx"), "-o", temp_file("bad.onnx")};
        args.insert(args.end(), bad.begin(), bad.end());
        const RunResult result = run_pare(args);
        CHECK(result.code == 2);
        CHECK(result.out.empty());
    }
}

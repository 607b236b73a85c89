// End-to-end tests of the weight-only schemes: pare quantize --scheme int4 | log.
#include <doctest/doctest.h>

#include "cli_helpers.h"
#include "onnx/model_io.h"

using namespace pare_cli;

TEST_CASE("quantize --scheme int4 writes an opset-21 model with INT4 weights, measured and byte-stable") {
    const std::string out = temp_file("cnn_int4.onnx");
    const std::vector<std::string> args = {"quantize",    sample_path("fmnist/cnn.onnx"),
                                           "-o",          out,
                                           "--scheme",    "int4",
                                           "--eval-data", sample_path("fmnist/eval_x.npy"),
                                           "--labels",    sample_path("fmnist/eval_y.npy"),
                                           "--limit",     "200",
                                           "--report",    "-"};
    const nlohmann::json report = parse_report(run_pare(args));
    CHECK(report["config"]["scheme"] == "int4");
    CHECK(report["config"]["block_size"] == 32);
    CHECK(report["config"]["opset_after"] == 21);
    CHECK(report["quantization"]["layers"] == 4);
    CHECK(report["size"]["weight_bytes_before"].get<double>() > 6 * report["size"]["weight_bytes_after"].get<double>());
    CHECK(report["accuracy"]["agreement"].get<double>() > 0.95);
    for (const auto& layer : report["layers"]) CHECK(layer["weight_sqnr_db"].get<double>() > 15.0);
    auto written = pare::load_model(out);
    REQUIRE(written.ok());
    CHECK(written->model.opset() == 21);
    const std::string first_sha = written->sha256;
    REQUIRE(run_pare(args).code == 0);
    CHECK(pare::load_model(out)->sha256 == first_sha);
}

TEST_CASE("quantize --scheme log keeps the opset for 6-bit codes and refuses bits outside 3..8") {
    const std::string out = temp_file("mlp_log6.onnx");
    const nlohmann::json report = parse_report(run_pare(
        {"quantize", sample_path("fmnist/mlp.onnx"), "-o", out, "--scheme", "log", "--bits", "6", "--report", "-"}));
    CHECK(report["config"]["bits"] == 6);
    CHECK(report["config"]["weight_dtype"] == "uint8");
    CHECK(report["config"]["opset_after"] == 13);
    const RunResult bad = run_pare(
        {"quantize", sample_path("fmnist/mlp.onnx"), "-o", temp_file("bad.onnx"), "--scheme", "log", "--bits", "2"});
    CHECK(bad.code == 2);
    CHECK(bad.out.empty());
}

// End-to-end tests of --weight-rounding gptq: int4 and codebook on mlp with calibration data, byte-stable, every
// layer's output-error proxy below round-to-nearest's; the flag's usage errors.
#include <doctest/doctest.h>

#include "cli_helpers.h"
#include "onnx/model_io.h"

using namespace pare_cli;

TEST_CASE("quantize --weight-rounding gptq (int4, codebook) lowers every layer's output error, byte-stable") {
    // codebook leaves the flag out: a weight-only scheme given --data rounds with GPTQ by default.
    for (const std::string scheme : {"int4", "codebook"}) {
        CAPTURE(scheme);
        const std::string out = temp_file("mlp_" + scheme + "_gptq.onnx");
        std::vector<std::string> args = {"quantize",
                                               sample_path("fmnist/mlp.onnx"),
                                               "-o",
                                               out,
                                               "--scheme",
                                               scheme,
                                               "--weight-rounding",
                                               "gptq",
                                               "--data",
                                               sample_path("fmnist/calib_x.npy"),
                                               "--samples",
                                               "256",
                                               "--eval-data",
                                               sample_path("fmnist/eval_x.npy"),
                                               "--labels",
                                               sample_path("fmnist/eval_y.npy"),
                                               "--limit",
                                               "200",
                                               "--report",
                                               "-"};
        if (scheme == "codebook") args.erase(args.begin() + 6, args.begin() + 8);
        const nlohmann::json report = parse_report(run_pare(args));
        CHECK(report["config"]["weight_rounding"] == "gptq");
        CHECK(report["config"]["calibration_source"] == sample_path("fmnist/calib_x.npy"));
        REQUIRE(report["layers"].size() == report["quantization"]["layers"].get<size_t>());
        for (const auto& layer : report["layers"]) {
            CHECK(layer["weight_rounding"] == "gptq");
            CHECK(layer["output_error_gptq"].get<double>() < layer["output_error_rtn"].get<double>());
        }
        CHECK(report["accuracy"]["agreement"].get<double>() > 0.95);
        const std::string first_sha = pare::load_model(out)->sha256;
        REQUIRE(run_pare(args).code == 0);
        CHECK(pare::load_model(out)->sha256 == first_sha);
    }
}

TEST_CASE("quantize --scheme int8 --weight-rounding gptq rounds the QDQ weights with GPTQ") {
    const nlohmann::json report = parse_report(run_pare(
        {"quantize", sample_path("fmnist/cnn.onnx"), "-o", temp_file("cnn_int8_gptq.onnx"), "--weight-rounding", "gptq",
         "--data", sample_path("fmnist/calib_x.npy"), "--samples", "128", "--report", "-"}));
    CHECK(report["config"]["weight_rounding"] == "gptq");
    for (const auto& layer : report["layers"]) {
        CHECK(layer["weight_rounding"] == "gptq");
        CHECK(layer["output_error_gptq"].get<double>() <= layer["output_error_rtn"].get<double>());
    }
}

TEST_CASE("--weight-rounding: unknown values, gptq without --data or with a scheme without it, rtn with --data") {
    const std::string model = sample_path("fmnist/mlp.onnx"), data = sample_path("fmnist/calib_x.npy");
    const std::string out = temp_file("bad.onnx");
    const std::vector<std::vector<std::string>> bad = {
        {"quantize", model, "-o", out, "--scheme", "int4", "--weight-rounding", "best", "--data", data},
        {"quantize", model, "-o", out, "--scheme", "int4", "--weight-rounding", "gptq"},
        {"quantize", model, "-o", out, "--scheme", "dynamic", "--weight-rounding", "gptq", "--data", data},
        {"quantize", model, "-o", out, "--scheme", "int4", "--weight-rounding", "rtn", "--data", data},
    };
    for (const auto& args : bad) check_one_error_line(run_pare(args), 2);
}

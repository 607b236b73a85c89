// End-to-end tests of `pare quantize`'s per-layer report (local, cumulative and weight error, most damaged first)
// and of --format qoperator.
#include <doctest/doctest.h>

#include <filesystem>

#include "../unit/fragile_model.h"
#include "cli_helpers.h"
#include "data/npy.h"
#include "onnx/model_io.h"

using namespace pare_cli;
namespace fs = std::filesystem;


TEST_CASE("quantize: the fragile layer heads the layer table with the lowest local SQNR") {
    const std::string model = temp_file("fragile.onnx"), data = temp_file("fragile_x.npy");
    REQUIRE(pare::save_model(pare_test::fragile_mlp_model(), model).ok());
    REQUIRE(pare::write_npy(data, pare_test::fragile_mlp_inputs(300)).ok());
    const std::vector<std::string> args = {
        "quantize", model,         "-o", temp_file("fragile_q.onnx"), "--data", data, "--calibration",
        "minmax",   "--eval-data", data};
    std::vector<std::string> with_report = args;
    with_report.insert(with_report.end(), {"--report", "-"});
    const nlohmann::json report = parse_report(run_pare(with_report));
    const auto& layers = report["layers"];
    REQUIRE(layers.size() == 3);
    CHECK(layers[0]["name"] == "layer_b");
    for (const auto& layer : layers) {
        CAPTURE(layer["name"]);
        for (const char* key : {"local_error", "activation_error", "weight_error"}) {
            REQUIRE(layer.contains(key));
            CHECK(layer[key]["sqnr_db"].is_number());
        }
        CHECK(layer["local_error"]["sqnr_db"].get<double>() >= layers[0]["local_error"]["sqnr_db"].get<double>());
    }
    for (const char* phase : {"calibration_s", "rewrite_s", "evaluation_s", "total_s"}) {
        CAPTURE(phase);
        CHECK(report["timing"].contains(phase));
    }
    CHECK(report["accuracy"].contains("output_sqnr_db"));

    // The summary lists the same layer first, with its local, cumulative and weight SQNR.
    const RunResult summary = run_pare(args);
    REQUIRE(summary.code == 0);
    const auto out = lines(summary.out);
    const auto header = std::find_if(out.begin(), out.end(), [](const std::string& l) {
        return l.find("layer") != std::string::npos && l.find("cumulative") != std::string::npos &&
               l.find("weight") != std::string::npos && l.rfind("  ", 0) == 0;
    });
    REQUIRE(header != out.end());
    REQUIRE(header + 1 != out.end());
    CHECK((header + 1)->find("layer_b") != std::string::npos);
}

TEST_CASE("quantize --format qoperator: QLinearConv / QLinearMatMul, accuracy of the QDQ file") {
    const std::string cnn = sample_path("fmnist/cnn.onnx");
    if (!fs::exists(cnn)) {
        MESSAGE("sample_data/fmnist/cnn.onnx is missing: skipped");
        return;
    }
    auto quantize = [&](const std::string& format) {
        return parse_report(run_pare({"quantize", cnn, "-o", temp_file("cnn_" + format + ".onnx"), "--data",
                                      sample_path("fmnist/calib_x.npy"), "--format", format, "--eval-data",
                                      sample_path("fmnist/eval_x.npy"), "--labels", sample_path("fmnist/eval_y.npy"),
                                      "--limit", "500", "--report", "-"}));
    };
    const nlohmann::json qdq = quantize("qdq"), qoperator = quantize("qoperator");
    CHECK(qoperator["config"]["format"] == "qoperator");
    // conv1, conv2 and fc1 become integer ops; fc2 writes the float logits and keeps its QDQ form.
    CHECK(qoperator["quantization"]["qlinear_nodes"] == 3);
    CHECK(qoperator["accuracy"]["agreement"].get<double>() >= 0.99);
    CHECK(std::abs(qoperator["accuracy"]["after"]["top1"].get<double>() -
                   qdq["accuracy"]["after"]["top1"].get<double>()) <= 0.005);
    const pare::LoadedModel written = pare::load_model(temp_file("cnn_qoperator.onnx")).value();
    int qlinear = 0;
    for (const auto& node : written.model.graph.nodes) {
        CHECK(node.is_onnx_domain());  // standard ops only
        qlinear += node.op_type() == "QLinearConv" || node.op_type() == "QLinearMatMul";
    }
    CHECK(qlinear == 3);
    // Same decisions, same integer arithmetic: the two files' outputs agree.
    const nlohmann::json compared =
        parse_report(run_pare({"eval", temp_file("cnn_qoperator.onnx"), "--compare", temp_file("cnn_qdq.onnx"),
                               "--data", sample_path("fmnist/eval_x.npy"), "--limit", "500", "--report", "-"}));
    CHECK(compared["accuracy"]["agreement"].get<double>() >= 0.998);
}

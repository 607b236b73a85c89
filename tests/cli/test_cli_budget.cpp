// End-to-end tests of the accuracy budget of pare quantize: --max-drop, --max-size, --time-budget and
// --emit-exclusions, on the fragile MLP (one layer crushed by int8 activations).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "../unit/fragile_model.h"
#include "cli_helpers.h"
#include "core/file_io.h"
#include "data/npy.h"
#include "onnx/model_io.h"

using namespace pare_cli;

namespace {

struct FragileFiles {
    std::string model = temp_file("budget_fragile.onnx");
    std::string data = temp_file("budget_fragile_x.npy");
    FragileFiles() {
        REQUIRE(pare::save_model(pare_test::fragile_mlp_model(), model).ok());
        REQUIRE(pare::write_npy(data, pare_test::fragile_mlp_inputs(300)).ok());
    }
    std::vector<std::string> quantize(const std::string& output, const std::string& report) const {
        return {"quantize",      model,    "-o",          output, "--data",   data,
                "--calibration", "minmax", "--eval-data", data,   "--report", report};
    }
};

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

}  // namespace

TEST_CASE("quantize --max-drop: the fragile layer falls back first, alone, and the budget is met") {
    const FragileFiles files;
    const std::string out = temp_file("budget_met.onnx"), report_path = temp_file("budget_met.json");
    const std::string exclusions = temp_file("budget_met_exclusions.json");
    const auto args = with(files.quantize(out, report_path),
                           {"--max-drop", "0", "--exclude", "layer_a", "--emit-exclusions", exclusions});
    const RunResult run = run_pare(args);
    INFO("stderr: " << run.err);
    REQUIRE(run.code == 0);
    const nlohmann::json report = read_report(report_path);
    CHECK(report["status"] == "ok");
    const auto& budget = report["budget"];
    CHECK(budget["met"] == true);
    CHECK(budget["drop_metric"] == "disagreement_points");
    CHECK(budget["ranking"][0]["layer"] == "layer_b");
    // The start misses (int8 crushes layer_b's input); the first step moves layer_b alone to 16-bit activations.
    const auto& decisions = budget["decisions"];
    REQUIRE(decisions.size() == 2);
    CHECK(decisions[0]["outcome"] == "start");
    CHECK(decisions[0]["drop_points"].get<double>() > 1.0);
    CHECK(decisions[1]["layers"] == nlohmann::json::array({"layer_b"}));
    CHECK(decisions[1]["from"] == nlohmann::json::array({"int8"}));
    CHECK(decisions[1]["to"] == "int16");
    CHECK(decisions[1]["met"] == true);
    CHECK(budget["fallbacks"] == nlohmann::json::parse(R"([{"layer": "layer_b", "to": "int16"}])"));
    // What the search measured is what the report measures on the written file.
    CHECK(budget["max_drop"]["achieved"].get<double>() ==
          doctest::Approx(100.0 * (1.0 - report["accuracy"]["agreement"].get<double>())));
    CHECK(budget["achieved"]["bytes"] == report["output"]["bytes"]);
    // --exclude'd layers are what nodes_to_exclude lists (layer_b went to int16, not float).
    CHECK(nlohmann::json::parse(pare::read_file(exclusions).value()) == nlohmann::json::array({"layer_a"}));

    // layer_b reads and writes 16-bit activations through ONNX Runtime's com.microsoft Q/DQ (layer_c reads the same
    // quantized b); layer_a stays float, so x is not quantized.
    const pare::LoadedModel written = pare::load_model(out).value();
    std::vector<std::string> wide;
    for (const auto& node : written.model.graph.nodes) {
        if (node.op_type() == "QuantizeLinear" && node.proto.domain() == "com.microsoft") wide.push_back(node.input(0));
        if (node.op_type() == "QuantizeLinear") CHECK(node.proto.domain() == "com.microsoft");
    }
    CHECK(wide == std::vector<std::string>{"a_float", "b_float"});
    CHECK(written.model.opset("com.microsoft") == 1);

    // Same flags, same bytes.
    REQUIRE(run_pare(args).code == 0);
    CHECK(pare::load_model(out)->sha256 == written.sha256);
}

TEST_CASE("quantize --max-drop with --max-size: a refused rung is skipped, the layer falls back to float") {
    const FragileFiles files;
    const std::string out = temp_file("budget_float.onnx"), report_path = temp_file("budget_float.json");
    const std::string exclusions = temp_file("budget_float_exclusions.json");
    // 1600 bytes: the int8 model (about 1540) fits, layer_b with 16-bit activations (about 1610) does not, layer_b in
    // float (about 1200: this model's Q/DQ cost more than its weights save) does.
    const RunResult run = run_pare(with(files.quantize(out, report_path),
                                        {"--max-drop", "0", "--max-size", "1600", "--emit-exclusions", exclusions}));
    INFO("stderr: " << run.err);
    REQUIRE(run.code == 0);
    const auto budget = read_report(report_path)["budget"];
    CHECK(budget["met"] == true);
    const auto& decisions = budget["decisions"];
    REQUIRE(decisions.size() >= 3);
    CHECK(decisions[1]["layers"] == nlohmann::json::array({"layer_b"}));
    CHECK(decisions[1]["outcome"] == "over_size");
    const auto& last = decisions[decisions.size() - 1];
    CHECK(last["layers"] == nlohmann::json::array({"layer_b"}));
    CHECK(last["from"] == nlohmann::json::array({"int8"}));
    CHECK(last["to"] == "float");
    CHECK(last["outcome"] == "met");
    bool layer_b_float = false;
    for (const auto& fallback : budget["fallbacks"]) {
        layer_b_float |= fallback == nlohmann::json{{"layer", "layer_b"}, {"to", "float"}};
    }
    CHECK(layer_b_float);
    CHECK(nlohmann::json::parse(pare::read_file(exclusions).value()) == nlohmann::json::array({"layer_b"}));
    const pare::LoadedModel written = pare::load_model(out).value();
    for (const auto& node : written.model.graph.nodes) {
        if (node.name() == "layer_b") CHECK(node.input(1) == "w_b");  // the float weight, no DequantizeLinear
    }
}

TEST_CASE("quantize --max-drop / --max-size that cannot be met: exit 5, the best model and the gap in the report") {
    const FragileFiles files;
    const std::string out = temp_file("budget_gap.onnx"), report_path = temp_file("budget_gap.json");
    // 300 bytes: smaller than any model the search can write (the float model itself is 344 bytes). Every fallback
    // is refused unevaluated; the int8 model is written.
    RunResult run = run_pare(with(files.quantize(out, report_path), {"--max-drop", "0.0001", "--max-size", "300"}));
    CHECK(run.code == 5);
    auto err = lines(run.err);
    REQUIRE(err.size() == 1);
    CHECK(err[0].rfind("pare: error: accuracy budget not met: drop ", 0) == 0);
    CHECK(err[0].find("--max-drop 0.0001") != std::string::npos);
    CHECK(err[0].find("bytes > --max-size 300") != std::string::npos);
    REQUIRE(pare::load_model(out).ok());
    nlohmann::json report = read_report(report_path);
    CHECK(report["status"] == "gate_failed");
    auto budget = report["budget"];
    CHECK(budget["met"] == false);
    CHECK(budget["max_drop"]["met"] == false);
    CHECK(budget["max_drop"]["gap"].get<double>() > 1.0);
    CHECK(budget["max_drop"]["gap"].get<double>() ==
          doctest::Approx(budget["max_drop"]["achieved"].get<double>() - 0.0001));
    CHECK(budget["max_size"]["met"] == false);
    CHECK(budget["max_size"]["gap"] == report["output"]["bytes"].get<int64_t>() - 300);
    CHECK(report["gates"] ==
          nlohmann::json::array(
              {{{"name", "max_drop"}, {"limit", 0.0001}, {"value", budget["max_drop"]["achieved"]}, {"passed", false}},
               {{"name", "max_size"}, {"limit", 300}, {"value", report["output"]["bytes"]}, {"passed", false}}}));
    CHECK(budget["fallbacks"].empty());
    REQUIRE(budget["decisions"].size() > 1);
    for (size_t i = 1; i < budget["decisions"].size(); ++i) {
        const auto& decision = budget["decisions"][i];
        CHECK(decision["outcome"] == "over_size");
        CHECK(decision["drop_points"].is_null());
        CHECK(decision["bytes"].get<int64_t>() > 300);
    }

    // Out of time after the first measurement: the int8 model is written, the drop gap reported.
    run = run_pare(with(files.quantize(out, report_path), {"--max-drop", "0.0001", "--time-budget", "1e-9"}));
    CHECK(run.code == 5);
    err = lines(run.err);
    REQUIRE(err.size() == 1);
    CHECK(err[0].find("--time-budget ran out") != std::string::npos);
    report = read_report(report_path);
    budget = report["budget"];
    CHECK(budget["time_budget"]["exhausted"] == true);
    CHECK(budget["max_drop"]["gap"].get<double>() > 1.0);
    CHECK(budget["decisions"].size() == 1);
    REQUIRE(pare::load_model(out).ok());
}

TEST_CASE("the fragile MLP fixture files (ONNX Runtime check of the budget's output) are fragile_model.h's") {
    const FragileFiles files;
    CHECK(pare::read_file(fixture_path("models/fragile_mlp.onnx")).value() == pare::read_file(files.model).value());
    CHECK(pare::read_file(fixture_path("data/fragile_x.npy")).value() == pare::read_file(files.data).value());
}

TEST_CASE("quantize budget flags: usage errors") {
    const FragileFiles files;
    const std::string out = temp_file("budget_usage.onnx");
    const std::vector<std::string> base = {"quantize", files.model, "-o", out, "--data", files.data};
    check_one_error_line(run_pare(with(base, {"--max-drop", "0.1"})), 2);  // no --eval-data
    check_one_error_line(run_pare(with(base, {"--max-size", "5000"})), 2);
    check_one_error_line(run_pare(with(base, {"--eval-data", files.data, "--time-budget", "5"})),
                         2);  // nothing to bound
    check_one_error_line(run_pare({"quantize", files.model, "-o", out, "--scheme", "dynamic", "--eval-data", files.data,
                                   "--max-drop", "0.1"}),
                         2);
    check_one_error_line(
        run_pare(with(base, {"--eval-data", files.data, "--max-drop", "0.1", "--format", "qoperator"})), 2);
    const RunResult negative = run_pare(with(base, {"--eval-data", files.data, "--max-drop", "-1"}));
    CHECK(negative.code == 2);
    CHECK_FALSE(std::ifstream(out).good());
}

// End-to-end tests of the accuracy budget with the weight-only schemes (--scheme int4, log, ...): the ladder scheme ->
// int8 weights -> float, on the MLP whose middle layer 4-bit weights crush (tests/unit/fragile_model.h).
#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <set>
#include <string>

#include "../unit/fragile_model.h"
#include "cli_helpers.h"
#include "core/file_io.h"
#include "data/npy.h"
#include "onnx/model_io.h"

using namespace pare_cli;

namespace {

struct WeightFragileFiles {
    std::string model = temp_file("wo_budget_fragile.onnx");
    std::string data = temp_file("wo_budget_fragile_x.npy");
    WeightFragileFiles() {
        REQUIRE(pare::save_model(pare_test::weight_fragile_mlp_model(), model).ok());
        REQUIRE(pare::write_npy(data, pare_test::fragile_mlp_inputs(300)).ok());
    }
    std::vector<std::string> quantize(const std::string& output, const std::string& report,
                                      const std::vector<std::string>& more) const {
        std::vector<std::string> args = {"quantize", model, "-o", output, "--eval-data", data, "--report", report};
        args.insert(args.end(), more.begin(), more.end());
        return args;
    }
};

// The stored type of each MatMul's weight codes: the integer initializers its weight is decoded from (int4 or int8
// behind DequantizeLinear, uint4 log codes behind Cast -> Gather -> Mul), or "float" for the float initializer.
std::string weight_forms(const pare::Model& model) {
    const pare::Graph& graph = model.graph;
    std::function<void(const std::string&, std::set<std::string>&)> codes = [&](const std::string& name,
                                                                                std::set<std::string>& found) {
        if (graph.find_initializer(name)) {
            const pare::DType dtype = graph.constant(name)->dtype();
            if (dtype != pare::DType::kF32 && dtype != pare::DType::kI64) found.insert(pare::dtype_onnx_name(dtype));
            return;
        }
        const int producer = graph.producer(name);
        if (producer < 0) return;
        for (const auto& input : graph.nodes[static_cast<size_t>(producer)].proto.input()) codes(input, found);
    };
    std::string forms;
    for (const auto& node : graph.nodes) {
        if (node.op_type() != "MatMul") continue;
        std::set<std::string> found;
        codes(node.input(1), found);
        forms += (forms.empty() ? "" : " ") + node.name() + "=";
        for (const auto& dtype : found) forms += dtype + (dtype == *found.rbegin() ? "" : "+");
        if (found.empty()) forms += "float";
    }
    return forms;
}

}  // namespace

TEST_CASE("quantize --scheme int4 --max-drop: the fragile layer moves to int8 weights first, alone") {
    // int4 on layer_b disagrees with the float model on 11% of the inputs, int8 weights on 2 of the 300.
    const WeightFragileFiles files;
    const std::string out = temp_file("wo_budget_met.onnx"), report_path = temp_file("wo_budget_met.json");
    const std::string exclusions = temp_file("wo_budget_met_exclusions.json");
    const auto args = files.quantize(
        out, report_path,
        {"--scheme", "int4", "--max-drop", "1", "--exclude", "layer_c", "--emit-exclusions", exclusions});
    const RunResult run = run_pare(args);
    INFO("stderr: " << run.err);
    REQUIRE(run.code == 0);
    const nlohmann::json report = read_report(report_path);
    const auto& budget = report["budget"];
    CHECK(budget["met"] == true);
    CHECK(budget["drop_metric"] == "disagreement_points");
    CHECK(budget["rungs"] == nlohmann::json::array({"int4", "int8", "float"}));
    // layer_a is exact in int4 (no finite SQNR): layer_b is the one that loses, and ranks first.
    REQUIRE(budget["ranking"].size() == 2);
    CHECK(budget["ranking"][0]["layer"] == "layer_b");
    CHECK(budget["ranking"][1]["local_sqnr_db"].is_null());
    const auto& decisions = budget["decisions"];
    REQUIRE(decisions.size() == 2);
    CHECK(decisions[0]["outcome"] == "start");
    CHECK(decisions[0]["drop_points"].get<double>() > 5.0);
    CHECK(decisions[1]["layers"] == nlohmann::json::array({"layer_b"}));
    CHECK(decisions[1]["from"] == nlohmann::json::array({"int4"}));
    CHECK(decisions[1]["to"] == "int8");
    CHECK(decisions[1]["outcome"] == "met");
    CHECK(budget["fallbacks"] == nlohmann::json::parse(R"([{"layer": "layer_b", "to": "int8"}])"));
    CHECK(budget["layer_precisions"] ==
          nlohmann::json::parse(
              R"([{"layer": "layer_a", "precision": "int4"}, {"layer": "layer_b", "precision": "int8"}])"));
    // The search measured what the report measures on the written file.
    CHECK(budget["max_drop"]["achieved"].get<double>() ==
          doctest::Approx(100.0 * (1.0 - report["accuracy"]["agreement"].get<double>())));
    CHECK(budget["achieved"]["bytes"] == report["output"]["bytes"]);
    // The layer table gives each layer's precision.
    std::map<std::string, std::pair<std::string, int>> table;
    for (const auto& layer : report["layers"]) table[layer["name"]] = {layer["scheme"], layer["bits"]};
    CHECK(table ==
          std::map<std::string, std::pair<std::string, int>>{{"layer_a", {"int4", 4}}, {"layer_b", {"int8", 8}}});
    // Only the --exclude'd layer is in float.
    CHECK(nlohmann::json::parse(pare::read_file(exclusions).value()) == nlohmann::json::array({"layer_c"}));

    // Three precisions in one file: INT4 and INT8 DequantizeLinear, and the float weight.
    const pare::LoadedModel written = pare::load_model(out).value();
    CHECK(weight_forms(written.model) == "layer_a=int4 layer_b=int8 layer_c=float");
    // Same flags, same bytes.
    REQUIRE(run_pare(args).code == 0);
    CHECK(pare::load_model(out)->sha256 == written.sha256);
}

TEST_CASE("quantize --scheme log --bits 3 with a budget that cannot be met: exit 5, the best model, the gap") {
    const WeightFragileFiles files;
    const std::string out = temp_file("wo_budget_gap.onnx"), report_path = temp_file("wo_budget_gap.json");
    // 300 bytes: below any model the search can write (the float model is larger), so every move is refused
    // unevaluated and the log model is written.
    const RunResult run = run_pare(files.quantize(
        out, report_path, {"--scheme", "log", "--bits", "3", "--max-drop", "0.0001", "--max-size", "300"}));
    CHECK(run.code == 5);
    const auto err = lines(run.err);
    REQUIRE(err.size() == 1);
    CHECK(err[0].rfind("pare: error: accuracy budget not met: drop ", 0) == 0);
    CHECK(err[0].find("bytes > --max-size 300") != std::string::npos);
    const pare::LoadedModel written = pare::load_model(out).value();
    CHECK(weight_forms(written.model) == "layer_a=uint4 layer_b=uint4 layer_c=uint4");
    const nlohmann::json report = read_report(report_path);
    CHECK(report["status"] == "gate_failed");
    const auto& budget = report["budget"];
    CHECK(budget["rungs"] == nlohmann::json::array({"log3", "int8", "float"}));
    CHECK(budget["max_drop"]["met"] == false);
    CHECK(budget["max_drop"]["gap"].get<double>() > 1.0);
    CHECK(budget["max_size"]["gap"] == report["output"]["bytes"].get<int64_t>() - 300);
    CHECK(budget["fallbacks"].empty());
    REQUIRE(budget["decisions"].size() > 1);
    CHECK(budget["decisions"][1]["layers"] == nlohmann::json::array({"layer_b"}));
    for (size_t i = 1; i < budget["decisions"].size(); ++i) CHECK(budget["decisions"][i]["outcome"] == "over_size");
    for (const auto& layer : budget["layer_precisions"]) CHECK(layer["precision"] == "log3");
}

TEST_CASE("quantize --scheme int4 --max-drop 0: int8 weights are not enough, the fragile layer ends in float") {
    const WeightFragileFiles files;
    const std::string out = temp_file("wo_budget_float.onnx"), report_path = temp_file("wo_budget_float.json");
    const std::string exclusions = temp_file("wo_budget_float_exclusions.json");
    const RunResult run = run_pare(
        files.quantize(out, report_path, {"--scheme", "int4", "--max-drop", "0", "--emit-exclusions", exclusions}));
    INFO("stderr: " << run.err);
    REQUIRE(run.code == 0);
    const auto budget = read_report(report_path)["budget"];
    CHECK(budget["met"] == true);
    // Every layer to int8 first (layer_b alone, then the rest), then layer_b alone to float meets it.
    std::vector<std::string> steps;
    for (const auto& decision : budget["decisions"]) {
        std::string step = decision["outcome"].get<std::string>() + ":" + decision["to"].get<std::string>();
        for (const auto& layer : decision["layers"]) step += " " + layer.get<std::string>();
        steps.push_back(step);
    }
    CHECK(steps == std::vector<std::string>{"start:int4", "kept:int8 layer_b", "kept:int8 layer_a layer_c",
                                            "met:float layer_b"});
    CHECK(budget["max_drop"]["achieved"] == 0.0);
    CHECK(nlohmann::json::parse(pare::read_file(exclusions).value()) == nlohmann::json::array({"layer_b"}));
    const pare::LoadedModel written = pare::load_model(out).value();
    CHECK(weight_forms(written.model) == "layer_a=int8 layer_b=float layer_c=int8");
}

TEST_CASE("quantize weight-only budget: --format matmulnbits layers climb the ladder too, and the usage errors") {
    const WeightFragileFiles files;
    const std::string out = temp_file("wo_budget_nbits.onnx"), report_path = temp_file("wo_budget_nbits.json");
    // layer_b leaves MatMulNBits for an int8 DequantizeLinear; the others stay MatMulNBits (block 16, K = 4).
    const RunResult run = run_pare(files.quantize(
        out, report_path, {"--scheme", "int4", "--format", "matmulnbits", "--block-size", "16", "--max-drop", "1"}));
    INFO("stderr: " << run.err);
    REQUIRE(run.code == 0);
    CHECK(read_report(report_path)["budget"]["ranking"][0]["layer"] == "layer_b");
    const pare::LoadedModel written = pare::load_model(out).value();
    std::map<std::string, std::string> ops;
    for (const auto& node : written.model.graph.nodes) ops[node.name()] = node.op_type();
    CHECK(ops.at("layer_a") == "MatMulNBits");
    CHECK(ops.at("layer_b") == "MatMul");
    CHECK(ops.at("layer_c") == "MatMulNBits");

    // The budget needs --eval-data; --format qoperator is no weight-only format.
    const std::vector<std::string> base = {"quantize", files.model, "-o", out, "--scheme", "log", "--max-drop", "1"};
    check_one_error_line(run_pare(base), 2);
    auto with_format = base;
    for (const char* arg : {"--eval-data", files.data.c_str(), "--format", "qoperator"}) with_format.push_back(arg);
    check_one_error_line(run_pare(with_format), 2);
}

TEST_CASE("the weight-fragile MLP fixture (ONNX Runtime check of the weight-only budget) is fragile_model.h's") {
    const WeightFragileFiles files;
    CHECK(pare::read_file(fixture_path("models/weight_fragile_mlp.onnx")).value() ==
          pare::read_file(files.model).value());
}

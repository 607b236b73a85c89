// End-to-end tests of the pare binary: exit codes, what goes to stdout and stderr, reports valid against
// docs/report-schema.json, and results on the sample models equal to what PyTorch recorded in reference.json.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "cli_helpers.h"
#include "core/file_io.h"
#include "data/npy.h"

using namespace pare_cli;
namespace fs = std::filesystem;

namespace {

std::string model(const std::string& name) { return fixture_path("models/" + name + ".onnx"); }
std::string data(const std::string& name) { return fixture_path("data/" + name); }

// reference.json of the sample data, or null while the sample data is not there.
nlohmann::json sample_reference() {
    const std::string path = sample_path("fmnist/reference.json");
    if (!fs::exists(path)) return nullptr;
    return nlohmann::json::parse(pare::read_file(path).value());
}

}  // namespace

TEST_CASE("the report schema: an inspect report lacking its sections is rejected") {
    CHECK(schema_violations(report_schema(), nlohmann::json{{"schema", "pare.report/1"},
                                                            {"command", "inspect"},
                                                            {"status", "ok"},
                                                            {"tool", {{"name", "pare"}, {"version", "0"}}},
                                                            {"argv", nlohmann::json::array()}})
              .size() == 2);  // inspect requires inputs and model
}

TEST_CASE("missing, truncated and non-ONNX models exit 3 with one stderr line") {
    check_one_error_line(run_pare({"inspect", "/nonexistent/model.onnx"}), 3);
    const std::string truncated = temp_file("truncated.onnx");
    const std::string bytes = pare::read_file(model("two_inputs")).value();
    REQUIRE(pare::write_file_atomic(truncated, bytes.substr(0, bytes.size() / 2)).ok());
    for (const char* command : {"inspect", "bench"}) {
        CAPTURE(command);
        check_one_error_line(run_pare({command, truncated}), 3);
    }
    check_one_error_line(run_pare({"eval", truncated, "--data", data("x.npy")}), 3);
    check_one_error_line(run_pare({"inspect", data("x.npy")}), 3);
}

TEST_CASE("unsupported ops: inspect, eval and bench exit 4 listing every node, before reading data") {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"inspect", model("unsupported")},
          std::vector<std::string>{"bench", model("unsupported")},
          std::vector<std::string>{"eval", model("unsupported"), "--data", "/nonexistent.npy"},
          std::vector<std::string>{"eval", model("neg"), "--data", data("x.npy"), "--compare", model("unsupported")}}) {
        CAPTURE(args[0]);
        const RunResult run = run_pare(args);
        check_one_error_line(run, 4);
        CHECK(run.err.find("frob1") != std::string::npos);
        CHECK(run.err.find("frob2") != std::string::npos);
        CHECK(run.err.find("com.example.Frobnicate") != std::string::npos);
    }
}

TEST_CASE("an output path equal to an input is refused with exit 2 and the input is untouched") {
    const std::string copy = temp_file("neg_copy.onnx");
    const std::string bytes = pare::read_file(model("neg")).value();
    REQUIRE(pare::write_file_atomic(copy, bytes).ok());
    const std::string x = temp_file("x_copy.npy");
    REQUIRE(pare::write_file_atomic(x, pare::read_file(data("x.npy")).value()).ok());
    check_one_error_line(run_pare({"inspect", copy, "--report", copy}), 2);
    check_one_error_line(run_pare({"eval", copy, "--data", x, "--report", x}), 2);
    check_one_error_line(run_pare({"eval", copy, "--data", x, "--predictions", copy}), 2);
    check_one_error_line(run_pare({"bench", copy, "--report", copy}), 2);
    CHECK(pare::read_file(copy).value() == bytes);
    CHECK(pare::read_file(x).value() == pare::read_file(data("x.npy")).value());
}

TEST_CASE("usage errors exit 2") {
    CHECK(run_pare({"eval", model("neg")}).code == 2);  // --data is required
    CHECK(run_pare({"eval", model("neg"), "--data", data("x.npy"), "--per-layer"}).code == 2);
    CHECK(run_pare({"inspect", model("neg"), "--quiet", "--verbose"}).code == 2);
    CHECK(run_pare({"bench", model("dynamic_hw")}).code == 2);  // H and W need --shape
    CHECK(run_pare({"bench", model("neg"), "--shape", "x=1xx4"}).code == 2);
    CHECK(run_pare({"eval", model("fixed_batch"), "--data", data("x.npy"), "--batch", "4"}).code == 2);
    CHECK(run_pare({"inspect", model("neg"), "--device", "tpu"}).code == 2);
}

TEST_CASE("eval: data that does not fit the model exits 3 naming the input and both shapes") {
    RunResult run = run_pare({"eval", model("neg"), "--data", data("x_wide.npy")});
    check_one_error_line(run, 3);
    CHECK(run.err.find("'x'") != std::string::npos);
    CHECK(run.err.find("[N, 4]") != std::string::npos);
    CHECK(run.err.find("10x5") != std::string::npos);
    check_one_error_line(
        run_pare({"eval", model("neg"), "--data", data("x.npy"), "--labels", data("dtypes/int64.npy")}), 3);
    check_one_error_line(run_pare({"eval", model("two_inputs"), "--data", data("wrong_keys.npz")}), 3);
    check_one_error_line(run_pare({"eval", model("neg"), "--data", data("x_truncated.npy")}), 3);
    check_one_error_line(run_pare({"eval", model("neg"), "--data", data("x_fortran.npy")}), 4);
}

TEST_CASE("eval: accuracy, predictions and a schema-valid report on stdout with --report -") {
    const std::string predictions = temp_file("pred.npy");
    const RunResult run = run_pare({"eval", model("abs_relu"), "--data", data("x.npy"), "--labels", data("labels.npy"),
                                    "--batch", "4", "--predictions", predictions, "--report", "-", "--quiet"});
    CHECK(run.err.empty());
    const nlohmann::json report = parse_report(run);
    CHECK(report["command"] == "eval");
    CHECK(report["accuracy"]["samples"] == 10);
    CHECK(report["accuracy"]["top1"] == 1.0);  // labels are argmax |x| and the model computes |x|
    CHECK(report["config"]["batch"] == 4);
    CHECK(report["inputs"]["data"]["format"] == "npy");
    CHECK(report["latency"]["batch"] == 4);
    CHECK(report["latency"]["runs"] == 2);  // full batches only
    const pare::Tensor written = pare::read_npy(predictions).value();
    CHECK(written.equals(pare::read_npy(data("labels.npy")).value()));
}

TEST_CASE("eval: the human summary goes to stdout and a report file is written beside it") {
    const std::string report_path = temp_file("eval_report.json");
    const RunResult run = run_pare({"eval", model("fixed_batch"), "--data", data("x.npy"), "--labels",
                                    data("labels_i32_col.npy"), "--limit", "7", "--report", report_path});
    INFO(run.err);
    REQUIRE(run.code == 0);
    CHECK(run.out.find("top-1") != std::string::npos);
    CHECK(run.out.find('{') == std::string::npos);
    const nlohmann::json report = read_report(report_path);
    CHECK(report["accuracy"]["samples"] == 7);  // 3 + 3 + a padded batch of 1
    CHECK(report["config"]["batch"] == 3);
    CHECK(report["inputs"]["labels"]["samples"] == 7);
}

TEST_CASE("eval: labels that do not match the data's sample count exit 3") {
    // labels.npy has 10 labels, the test-data folder 5 samples.
    const RunResult run = run_pare({"eval", model("neg"), "--data", data("test_data"), "--labels", data("labels.npy")});
    check_one_error_line(run, 3);
    CHECK(run.err.find("10 labels for the 5 samples") != std::string::npos);
}

TEST_CASE("eval --compare: identical outputs, different intermediates") {
    const RunResult run = run_pare({"eval", model("abs_relu"), "--data", data("x.npy"), "--compare", model("neg_abs"),
                                    "--labels", data("labels.npy"), "--per-layer", "--report", "-"});
    const nlohmann::json report = parse_report(run);
    const auto& accuracy = report["accuracy"];
    CHECK(accuracy["before"]["top1"] == 1.0);
    CHECK(accuracy["after"]["top1"] == 1.0);
    CHECK(accuracy["top1_drop_points"] == 0.0);
    CHECK(accuracy["agreement"] == 1.0);
    CHECK(accuracy["kl_divergence"] == 0.0);
    CHECK(accuracy["output_sqnr_db"].is_null());  // identical: no noise
    CHECK(report["outputs"][0]["max_abs_error"] == 0.0);
    REQUIRE(report["layers"].size() == 1);
    const auto& layer = report["layers"][0];
    CHECK(layer["name"] == "first");
    CHECK(layer["output"] == "h");
    CHECK(layer["op_type"] == "Abs");
    // h is |x| against -x: the error is 2|x| where x > 0, so cosine < 1 and SQNR is finite.
    CHECK(layer["activation_error"]["cosine"].get<double>() < 0.99);
    CHECK(layer["activation_error"]["sqnr_db"].is_number());
    CHECK(report["inputs"]["reference"]["path"] == model("neg_abs"));
    CHECK(report["latency"].contains("before_ms"));
}

TEST_CASE("eval reads .npz (stored and deflated) and ONNX test-data folders") {
    for (const char* file : {"named_stored.npz", "named_deflated.npz", "positional.npz"}) {
        CAPTURE(file);
        const nlohmann::json report =
            parse_report(run_pare({"eval", model("two_inputs"), "--data", data(file), "--report", "-"}));
        CHECK(report["inputs"]["data"]["format"] == "npz");
        CHECK(report["accuracy"]["samples"] == 5);
    }
    const nlohmann::json report =
        parse_report(run_pare({"eval", model("neg"), "--data", data("test_data"), "--batch", "2", "--report", "-"}));
    CHECK(report["inputs"]["data"]["format"] == "onnx-test-data");
    CHECK(report["accuracy"]["samples"] == 5);
}

TEST_CASE("bench: latency report with random inputs, --shape, --data, and --verbose kernel choices") {
    nlohmann::json report =
        parse_report(run_pare({"bench", model("dynamic_hw"), "--shape", "image=2x1x5x7", "--repeat", "7", "--warmup",
                               "1", "--threads", "1", "--seed", "9", "--report", "-"}));
    CHECK(report["latency"]["runs"] == 7);
    CHECK(report["latency"]["batch"] == 2);
    CHECK(report["config"]["threads"] == 1);
    CHECK(report["config"]["seed"] == 9);
    CHECK(report["config"]["input_source"] == "random");
    CHECK(report["config"]["inputs"][0]["shape"] == nlohmann::json::array({2, 1, 5, 7}));

    report = parse_report(run_pare({"bench", model("two_inputs"), "--data", data("named_deflated.npz"), "--batch", "4",
                                    "--repeat", "3", "--report", "-"}));
    CHECK(report["config"]["input_source"] == "data");
    CHECK(report["inputs"]["data"]["samples"] == 4);
    CHECK(run_pare({"bench", model("two_inputs"), "--data", data("named_deflated.npz"), "--batch", "6"}).code == 3);

    const RunResult verbose = run_pare({"bench", model("neg"), "--repeat", "2", "--verbose"});
    CHECK(verbose.code == 0);
    CHECK(verbose.err.find("Neg 'negate': ") != std::string::npos);  // the kernel chosen
    CHECK(verbose.out.find("latency") != std::string::npos);
}

TEST_CASE("sample models: inspect counts the parameters PyTorch counts") {
    const nlohmann::json reference = sample_reference();
    if (reference.is_null()) {
        MESSAGE("sample_data/fmnist/reference.json is missing: skipped");
        return;
    }
    for (const auto& [name, entry] : reference["models"].items()) {
        CAPTURE(name);
        const nlohmann::json report =
            parse_report(run_pare({"inspect", sample_path("fmnist/" + entry["file"].get<std::string>()), "--json"}));
        CHECK(report["model"]["parameters"] == entry["params"]);
        CHECK(report["inputs"]["model"]["parameters"] == entry["params"]);
    }
}

TEST_CASE("sample models: eval reproduces PyTorch's top-1 and predictions on the bundled images") {
    const nlohmann::json reference = sample_reference();
    if (reference.is_null()) {
        MESSAGE("sample_data/fmnist/reference.json is missing: skipped");
        return;
    }
    for (const auto& [name, entry] : reference["models"].items()) {
        CAPTURE(name);
        const std::string predictions = temp_file(name + "_pred.npy");
        const nlohmann::json report =
            parse_report(run_pare({"eval", sample_path("fmnist/" + entry["file"].get<std::string>()), "--data",
                                   sample_path("fmnist/eval_x.npy"), "--labels", sample_path("fmnist/eval_y.npy"),
                                   "--predictions", predictions, "--report", "-"}));
        CHECK(report["accuracy"]["samples"] == 2000);
        CHECK(report["accuracy"]["top1"].get<double>() ==
              doctest::Approx(entry["top1_eval2000"].get<double>()).epsilon(1e-12));
        const pare::Tensor ours = pare::read_npy(predictions).value();
        const pare::Tensor theirs =
            pare::read_npy(sample_path("fmnist/" + entry["eval_pred_file"].get<std::string>())).value();
        CHECK(ours.equals(theirs));
    }
}

TEST_CASE("sample models: a model compared with itself agrees exactly, output and every layer") {
    const std::string cnn = sample_path("fmnist/cnn.onnx");
    if (!fs::exists(cnn)) {
        MESSAGE("sample_data/fmnist/cnn.onnx is missing: skipped");
        return;
    }
    const nlohmann::json report =
        parse_report(run_pare({"eval", cnn, "--compare", cnn, "--per-layer", "--data", sample_path("fmnist/eval_x.npy"),
                               "--labels", sample_path("fmnist/eval_y.npy"), "--limit", "64", "--report", "-"}));
    CHECK(report["accuracy"]["agreement"] == 1.0);
    CHECK(report["accuracy"]["top1_drop_points"] == 0.0);
    CHECK(report["accuracy"]["output_cosine"] == 1.0);
    CHECK(report["layers"].size() >= 5);
    for (const auto& layer : report["layers"]) {
        CAPTURE(layer["output"]);
        CHECK(layer["activation_error"]["max_abs_error"] == 0.0);
    }
}

TEST_CASE("quantize --scheme dynamic, fp16, int16: quality targets on the sample models, measured on the output") {
    const nlohmann::json reference = sample_reference();
    if (reference.is_null()) {
        MESSAGE("sample_data/fmnist/reference.json is missing: skipped");
        return;
    }
    // Measured on the first 500 evaluation images (bench/quantize_quality.sh measures all 2000 and the 10k set):
    // largest top-1 drop in points (one image is 0.2) and least agreement with the float model, per scheme; dynamic
    // is held to them on mlp and vit only.
    const std::map<std::string, std::pair<double, double>> limits = {
        {"dynamic", {0.6, 0.98}}, {"fp16", {0.2, 0.99}}, {"int16", {0.2, 0.99}}};
    for (const auto& [name, entry] : reference["models"].items()) {
        for (const auto& [scheme, limit] : limits) {
            CAPTURE(name);
            CAPTURE(scheme);
            const std::string output = temp_file(name + "_" + scheme + ".onnx");
            const std::string float_model = sample_path("fmnist/" + entry["file"].get<std::string>());
            std::vector<std::string> args = {"quantize", float_model, "-o", output,   "--scheme",
                                             scheme,     "--report",  "-",  "--quiet"};
            if (scheme == "int16") args.insert(args.end(), {"--data", sample_path("fmnist/calib_x.npy")});
            const nlohmann::json report = parse_report(run_pare(args));
            CHECK(report["config"]["scheme"] == scheme);
            CHECK(report["output"]["bytes"] == static_cast<int64_t>(fs::file_size(output)));
            CHECK(report["size"]["after_bytes"].get<double>() < report["size"]["before_bytes"].get<double>());
            REQUIRE(!report["layers"].empty());
            for (const auto& layer : report["layers"]) {
                CHECK(layer["scheme"] == scheme);
                if (scheme == "dynamic") CHECK(layer["input_params"] == "dynamic");
                // Activation x activation products (vit's attention) have no weight.
                if (scheme != "fp16" && !layer["weight"].get<std::string>().empty()) {
                    CHECK(layer["weight_params"]["scale_max"].get<double>() > 0);
                }
            }
            if (scheme == "dynamic" && name != "mlp" && name != "vit") continue;
            // The written file against the float model, one pass each (quantize --eval-data would add the latency
            // runs and the per-layer comparison, which these schemes' reference kernels make slow).
            const nlohmann::json measured = parse_report(run_pare(
                {"eval", output, "--compare", float_model, "--data", sample_path("fmnist/eval_x.npy"), "--labels",
                 sample_path("fmnist/eval_y.npy"), "--batch", "64", "--limit", "500", "--report", "-", "--quiet"}));
            CHECK(measured["accuracy"]["samples"] == 500);
            // Drops are whole images computed in floating point: allow for its rounding.
            CHECK(measured["accuracy"]["top1_drop_points"].get<double>() <= limit.first + 1e-9);
            CHECK(measured["accuracy"]["agreement"].get<double>() >= limit.second);
        }
    }
}

TEST_CASE("quantize: each scheme writes byte-identical models twice, unknown schemes and misplaced data exit 2") {
    const std::string cnn = sample_path("fmnist/cnn.onnx");
    if (!fs::exists(cnn)) {
        MESSAGE("sample_data/fmnist/cnn.onnx is missing: skipped");
        return;
    }
    for (const std::string scheme : {"dynamic", "fp16", "int16", "int8"}) {
        CAPTURE(scheme);
        std::vector<std::string> files;
        for (const std::string run : {"a", "b"}) {
            files.push_back(temp_file("det_" + scheme + "_" + run + ".onnx"));
            std::vector<std::string> args = {"quantize", cnn, "-o", files.back(), "--scheme", scheme, "--quiet"};
            if (scheme == "int16" || scheme == "int8") {
                args.insert(args.end(), {"--data", sample_path("fmnist/calib_x.npy")});
            }
            const RunResult result = run_pare(args);
            INFO(result.err);
            REQUIRE(result.code == 0);
        }
        CHECK(pare::read_file(files[0]).value() == pare::read_file(files[1]).value());
    }
    const std::string output = temp_file("refused.onnx");
    CHECK(run_pare({"quantize", cnn, "-o", output, "--scheme", "int3"}).code == 2);
    check_one_error_line(
        run_pare({"quantize", cnn, "-o", output, "--scheme", "dynamic", "--data", sample_path("fmnist/calib_x.npy")}),
        2);
    check_one_error_line(run_pare({"quantize", cnn, "-o", output, "--scheme", "int16"}), 2);  // needs --data
    CHECK(!fs::exists(output));
}

// End-to-end tests of `pare quantize`: byte-identical output for the same command, and the refusals DESIGN.md gives
// exit codes for (usage 2, invalid input 3), each with one stderr line and no model written.
#include <doctest/doctest.h>

#include <filesystem>

#include "cli_helpers.h"
#include "core/file_io.h"

using namespace pare_cli;
namespace fs = std::filesystem;

TEST_CASE("quantize: the same command twice writes a byte-identical model and the same report apart from timings") {
    const std::string cnn = sample_path("fmnist/cnn.onnx");
    if (!fs::exists(cnn)) {
        MESSAGE("sample_data/fmnist/cnn.onnx is missing: skipped");
        return;
    }
    const std::string output = temp_file("cnn_int8_twice.onnx");
    const std::string report_path = temp_file("cnn_int8_twice.json");
    const std::vector<std::string> args = {"quantize",    cnn,
                                           "-o",          output,
                                           "--data",      sample_path("fmnist/calib_x.npy"),
                                           "--eval-data", sample_path("fmnist/eval_x.npy"),
                                           "--labels",    sample_path("fmnist/eval_y.npy"),
                                           "--limit",     "256",
                                           "--threads",   "2",
                                           "--report",    report_path,
                                           "--quiet"};
    std::string models[2];
    nlohmann::json reports[2];
    for (int run = 0; run < 2; ++run) {
        const RunResult result = run_pare(args);
        INFO("stderr: " << result.err);
        REQUIRE(result.code == 0);
        models[run] = pare::read_file(output).value();
        reports[run] = read_report(report_path);
        reports[run].erase("timing");
        reports[run].erase("latency");
        reports[run].erase("memory");  // peak RSS: measured, like the timings
    }
    CHECK(models[0] == models[1]);
    CHECK(reports[0] == reports[1]);
    CHECK(reports[0]["output"]["sha256"] == reports[1]["output"]["sha256"]);
}

TEST_CASE("quantize refusals: exit codes, one stderr line, nothing written") {
    const std::string cnn = sample_path("fmnist/cnn.onnx");
    const std::string mlp = sample_path("fmnist/mlp.onnx");
    if (!fs::exists(cnn) || !fs::exists(mlp)) {
        MESSAGE("sample_data/fmnist models are missing: skipped");
        return;
    }
    const std::string calib = sample_path("fmnist/calib_x.npy");
    const std::string output = temp_file("refused_int8.onnx");
    auto refused = [&](const std::vector<std::string>& args, int code) {
        std::string command;
        for (const auto& arg : args) command += " " + arg;
        CAPTURE(command);
        fs::remove(output);
        check_one_error_line(run_pare(args), code);
        CHECK_FALSE(fs::exists(output));
    };
    SUBCASE("a scheme name pare does not know is a usage error") {
        refused({"quantize", cnn, "-o", output, "--data", calib, "--scheme", "int7-bogus"}, 2);
    }
    SUBCASE("--exclude matching every quantizable layer leaves nothing to quantize") {
        refused({"quantize", cnn, "-o", output, "--data", calib, "--exclude", "Conv", "--exclude", "Gemm"}, 2);
        refused({"quantize", cnn, "-o", output, "--data", calib, "--exclude", ".*"}, 2);
    }
    SUBCASE("--data and --table: exactly one") {
        refused({"quantize", cnn, "-o", output}, 2);
        const std::string table = temp_file("cnn_table_for_both.json");
        REQUIRE(run_pare({"calibrate", cnn, "--data", calib, "--samples", "32", "-o", table, "--quiet"}).code == 0);
        refused({"quantize", cnn, "-o", output, "--data", calib, "--table", table}, 2);
    }
    SUBCASE("a calibration table made for another model is invalid input") {
        const std::string table = temp_file("mlp_table.json");
        REQUIRE(run_pare({"calibrate", mlp, "--data", calib, "--samples", "32", "-o", table, "--quiet"}).code == 0);
        refused({"quantize", cnn, "-o", output, "--table", table}, 3);
    }
}

// End-to-end tests of `pare calibrate` and of the dataset flags every data-reading subcommand shares: image lists
// with their preprocessing, seeded shuffling, limits, and the calibration table's invariance to the batch size.
#include <doctest/doctest.h>

#include <filesystem>
#include <limits>

#include "cli_helpers.h"
#include "core/file_io.h"
#include "data/npy.h"

using namespace pare_cli;
namespace fs = std::filesystem;

namespace {

// The first 64 test images as PNGs with their labels (tests/fixtures/make_fmnist_png.py), and the flags that
// normalize them exactly as sample_data's eval_x.npy was normalized.
const std::vector<std::string> kFmnistPngFlags = {"--color", "gray", "--mean", "0.2860", "--std", "0.3530"};

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(pare::read_file(path).value()); }

bool have_sample_data() { return fs::exists(sample_path("fmnist/cnn.onnx")); }

}  // namespace

TEST_CASE("eval on an image list: the list's labels and the same predictions as the normalized .npy") {
    if (!have_sample_data()) return;
    const std::string from_images = temp_file("pred_images.npy"), from_npy = temp_file("pred_npy.npy");
    const RunResult images =
        run_pare(concat({"eval", sample_path("fmnist/cnn.onnx"), "--data", fixture_path("fmnist_png/list.txt"),
                         "--predictions", from_images, "--report", "-", "--quiet"},
                        kFmnistPngFlags));
    const nlohmann::json report = parse_report(images);
    CHECK(report["inputs"]["data"]["format"] == "image-list");
    CHECK(report["inputs"]["labels"]["samples"] == 64);
    const RunResult npy = run_pare({"eval", sample_path("fmnist/cnn.onnx"), "--data", sample_path("fmnist/eval_x.npy"),
                                    "--labels", sample_path("fmnist/eval_y.npy"), "--limit", "64", "--predictions",
                                    from_npy, "--report", "-", "--quiet"});
    const nlohmann::json expected = parse_report(npy);
    CHECK(pare::read_npy(from_images).value().equals(pare::read_npy(from_npy).value()));
    CHECK(report["accuracy"]["top1"] == expected["accuracy"]["top1"]);
}

TEST_CASE("eval --shuffle: a seeded subset, the same for the same seed, labels following their samples") {
    if (!have_sample_data()) return;
    auto run = [](const std::string& seed) {
        return parse_report(run_pare({"eval", sample_path("fmnist/cnn.onnx"), "--data",
                                      sample_path("fmnist/eval_x.npy"), "--labels", sample_path("fmnist/eval_y.npy"),
                                      "--shuffle", "--seed", seed, "--limit", "300", "--report", "-", "--quiet"}));
    };
    const nlohmann::json a = run("7"), again = run("7"), other = run("8");
    CHECK(a["inputs"]["data"]["shuffled"] == true);
    CHECK(a["accuracy"]["top1"] == again["accuracy"]["top1"]);
    // Labels follow their images: a shuffled subset of a 92.8%-accurate model stays far above chance (10%).
    CHECK(a["accuracy"]["top1"].get<double>() > 0.85);
    CHECK(other["accuracy"]["top1"].get<double>() > 0.85);
}

TEST_CASE("image flags on .npy data, or inconsistent image flags, are usage errors") {
    if (!have_sample_data()) return;
    check_one_error_line(run_pare({"eval", sample_path("fmnist/cnn.onnx"), "--data", sample_path("fmnist/eval_x.npy"),
                                   "--color", "gray"}),
                         2);
    check_one_error_line(run_pare({"eval", sample_path("fmnist/cnn.onnx"), "--data",
                                   fixture_path("fmnist_png/list.txt"), "--crop", "center"}),
                         2);
    check_one_error_line(run_pare({"eval", sample_path("fmnist/cnn.onnx"), "--data",
                                   fixture_path("fmnist_png/list.txt"), "--layout", "nchwc"}),
                         2);
}

TEST_CASE("an unreadable image is an error naming the file") {
    if (!have_sample_data()) return;
    const RunResult run = run_pare(concat(
        {"eval", sample_path("fmnist/cnn.onnx"), "--data", fixture_path("images/bad_list.txt")}, kFmnistPngFlags));
    check_one_error_line(run, 3);
}

TEST_CASE("calibrate: ranges for every activation under all four methods, identical for --batch 1 and 64") {
    if (!have_sample_data()) return;
    const std::string one = temp_file("calib_b1.json"), many = temp_file("calib_b64.json");
    for (const auto& [batch, table] : {std::pair<std::string, std::string>{"1", one}, {"64", many}}) {
        const RunResult run =
            run_pare({"calibrate", sample_path("fmnist/cnn.onnx"), "--data", sample_path("fmnist/calib_x.npy"),
                      "--batch", batch, "-o", table, "--report", "-", "--quiet"});
        const nlohmann::json report = parse_report(run);
        CHECK(report["calibration"]["samples"] == 512);
        CHECK(report["memory"]["peak_rss_bytes"].get<int64_t>() > 0);
    }
    nlohmann::json a = read_json(one), b = read_json(many);
    CHECK(a["config"]["batch"] == 1);
    a["config"].erase("batch");
    b["config"].erase("batch");
    CHECK(a == b);  // histograms, ranges and diagnostics alike
    // Every node output of the float graph has ranges from every method.
    const size_t tensors = a["tensors"].size();
    CHECK(tensors >= 10);
    for (const auto& [name, entry] : a["tensors"].items()) {
        INFO(name);
        for (const char* method : {"minmax", "percentile", "entropy", "mse"}) CHECK(entry["ranges"].contains(method));
    }
}

TEST_CASE("calibrate: the same data and seed write a byte-identical table, --samples limits and --shuffle picks") {
    if (!have_sample_data()) return;
    auto table = [](const std::vector<std::string>& extra) {
        const std::string path = temp_file("calib_det.json");
        const RunResult run = run_pare(concat({"calibrate", sample_path("fmnist/mlp.onnx"), "--data",
                                               sample_path("fmnist/calib_x.npy"), "-o", path, "--quiet"},
                                              extra));
        INFO(run.err);
        REQUIRE(run.code == 0);
        return pare::read_file(path).value();
    };
    CHECK(table({}) == table({}));
    const nlohmann::json first = nlohmann::json::parse(table({"--samples", "100"}));
    CHECK(first["dataset"]["samples"] == 100);
    const std::string shuffled = table({"--samples", "100", "--shuffle", "--seed", "3"});
    CHECK(shuffled == table({"--samples", "100", "--shuffle", "--seed", "3"}));
    CHECK(nlohmann::json::parse(shuffled)["tensors"] != first["tensors"]);
}

TEST_CASE("calibrate on an image list, and NaN in the data is an error naming the tensor") {
    if (!have_sample_data()) return;
    const std::string path = temp_file("calib_images.json");
    const RunResult run = run_pare(concat({"calibrate", sample_path("fmnist/cnn.onnx"), "--data",
                                           fixture_path("fmnist_png/list.txt"), "-o", path, "--quiet"},
                                          kFmnistPngFlags));
    INFO(run.err);
    CHECK(run.code == 0);
    CHECK(read_json(path)["dataset"]["samples"] == 64);

    pare::Tensor x = pare::read_npy(sample_path("fmnist/calib_x.npy")).value();
    x.data<float>()[5 * 784 + 3] = std::numeric_limits<float>::quiet_NaN();
    const std::string nan_data = temp_file("nan_x.npy");
    REQUIRE(pare::write_npy(nan_data, x).ok());
    const RunResult nan =
        run_pare({"calibrate", sample_path("fmnist/cnn.onnx"), "--data", nan_data, "-o", temp_file("calib_nan.json")});
    check_one_error_line(nan, 3);
    CHECK(nan.err.find("NaN") != std::string::npos);
    CHECK(!fs::exists(temp_file("calib_nan.json")));
}

// Conformance runner over ONNX's own node tests (Debian's libonnx-testdata): runs each case on the engine and
// compares with the expected outputs at ONNX's backend-test tolerance (rtol 1e-3, atol 1e-7).
//
//   pare_conformance [--data DIR] [--filter TEXT] [--all] [--reference-only] [--verbose]
//
// Cases whose ops are all in covered_ops.txt must pass unless listed in expected_failures.txt; other cases are only
// run with --all. Prints one line per failure and "N passed, N failed" last; exits 1 on unexpected results.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "exec/session.h"
#include "onnx/model_io.h"
#include "onnx/tensor_proto.h"

namespace fs = std::filesystem;
using namespace pare;

namespace {

std::set<std::string> read_words(const std::string& path) {
    std::set<std::string> words;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream tokens(line);
        std::string word;
        while (tokens >> word) words.insert(word);
    }
    return words;
}

std::map<std::string, std::string> read_expected_failures(const std::string& path) {
    std::map<std::string, std::string> failures;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream tokens(line);
        std::string name;
        tokens >> name;
        std::string reason;
        std::getline(tokens, reason);
        failures[name] = reason;
    }
    return failures;
}

void collect_ops(const Graph& graph, std::set<std::string>& ops) {
    for (const Node& node : graph.nodes) {
        ops.insert(node.is_onnx_domain() ? node.op_type() : node.domain() + "." + node.op_type());
        for (const auto& [attr, body] : node.subgraphs) collect_ops(*body, ops);
    }
}

// Compares one output; returns "" when equal within tolerance, else a description of the first mismatch.
std::string compare(const Tensor& got, const Tensor& want) {
    if (got.dtype() != want.dtype()) return "dtype " + dtype_name(got.dtype()) + " != expected " + dtype_name(want.dtype());
    if (got.shape() != want.shape()) {
        return "shape " + shape_to_string(got.shape()) + " != expected " + shape_to_string(want.shape());
    }
    const bool exact = !dtype_is_float(want.dtype());
    for (int64_t i = 0; i < want.numel(); ++i) {
        const double g = got.element_as_double(i), w = want.element_as_double(i);
        if (std::isnan(w) && std::isnan(g)) continue;
        if (std::isinf(w) && g == w) continue;
        const bool ok = exact ? g == w : std::fabs(g - w) <= 1e-7 + 1e-3 * std::fabs(w);
        if (!ok) {
            char text[160];
            std::snprintf(text, sizeof text, "element %lld: got %.9g, expected %.9g", static_cast<long long>(i), g, w);
            return text;
        }
    }
    return "";
}

// Runs every test_data_set of a case. Returns "" on success, else why it failed.
std::string run_case(const fs::path& dir, bool reference_only) {
    auto loaded = load_model((dir / "model.onnx").string());
    if (!loaded.ok()) return "load: " + loaded.status().message();
    const Model& model = loaded->model;
    const std::vector<std::string> input_names = model.graph.input_names();
    std::vector<fs::path> sets;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(entry.path());
    }
    std::sort(sets.begin(), sets.end());
    for (const auto& set : sets) {
        std::map<std::string, Shape> shapes;
        std::vector<Tensor> inputs;
        for (size_t i = 0; i < input_names.size(); ++i) {
            const fs::path file = set / ("input_" + std::to_string(i) + ".pb");
            if (!fs::exists(file)) return "missing " + file.string();
            auto tensor = parse_tensor_file(*read_file(file.string()), file.filename().string());
            if (!tensor.ok()) return tensor.status().message();
            shapes[input_names[i]] = tensor->shape();
            inputs.push_back(*tensor);
        }
        SessionOptions options;
        options.reference_only = reference_only;
        auto session = Session::create(model, shapes, options);
        if (!session.ok()) return "compile: " + session.status().message();
        auto outputs = (*session)->run(inputs);
        if (!outputs.ok()) return "run: " + outputs.status().message();
        for (size_t i = 0; i < outputs->size(); ++i) {
            const fs::path file = set / ("output_" + std::to_string(i) + ".pb");
            auto want = parse_tensor_file(*read_file(file.string()), file.filename().string());
            if (!want.ok()) return want.status().message();
            const std::string mismatch = compare((*outputs)[i], *want);
            if (!mismatch.empty()) return set.filename().string() + " output " + std::to_string(i) + ": " + mismatch;
        }
    }
    return "";
}

}  // namespace

int main(int argc, char** argv) {
    std::string data_dir = "/usr/share/libonnx-testdata/data/node";
    std::string filter;
    bool run_all = false, reference_only = false, verbose = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--data" && i + 1 < argc) data_dir = argv[++i];
        else if (arg == "--filter" && i + 1 < argc) filter = argv[++i];
        else if (arg == "--all") run_all = true;
        else if (arg == "--reference-only") reference_only = true;
        else if (arg == "--verbose") verbose = true;
        else {
            std::fprintf(stderr, "usage: pare_conformance [--data DIR] [--filter TEXT] [--all] [--reference-only] [--verbose]\n");
            return 2;
        }
    }
    const std::string here = PARE_CONFORMANCE_DIR;
    const std::set<std::string> covered = read_words(here + "/covered_ops.txt");
    const auto expected_failures = read_expected_failures(here + "/expected_failures.txt");
    if (!fs::exists(data_dir)) {
        std::fprintf(stderr, "conformance data not found at %s (apt-get install libonnx-testdata)\n", data_dir.c_str());
        return 1;
    }
    std::vector<fs::path> cases;
    for (const auto& entry : fs::directory_iterator(data_dir)) {
        if (fs::exists(entry.path() / "model.onnx")) cases.push_back(entry.path());
    }
    std::sort(cases.begin(), cases.end());

    int passed = 0, failed = 0, expected = 0, skipped = 0, unexpected_passes = 0;
    for (const auto& dir : cases) {
        const std::string name = dir.filename().string();
        if (!filter.empty() && name.find(filter) == std::string::npos) continue;
        auto loaded = load_model((dir / "model.onnx").string());
        std::set<std::string> ops;
        if (loaded.ok()) collect_ops(loaded->model.graph, ops);
        const bool in_scope = loaded.ok() && std::all_of(ops.begin(), ops.end(), [&](const std::string& op) {
            return covered.count(op) > 0;
        });
        if (!in_scope && !run_all) {
            ++skipped;
            continue;
        }
        const std::string failure = run_case(dir, reference_only);
        const bool allowed = expected_failures.count(name) > 0;
        if (failure.empty()) {
            ++passed;
            if (allowed) {
                ++unexpected_passes;
                std::printf("UNEXPECTED PASS %s (remove it from expected_failures.txt)\n", name.c_str());
            } else if (verbose) {
                std::printf("ok   %s\n", name.c_str());
            }
        } else if (allowed) {
            ++expected;
            if (verbose) std::printf("xfail %s: %s\n", name.c_str(), failure.c_str());
        } else {
            ++failed;
            std::printf("FAIL %s%s: %s\n", name.c_str(), in_scope ? "" : " (not covered)", failure.c_str());
        }
    }
    std::printf("expected failures: %d, cases outside the covered ops: %d\n", expected, skipped);
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed || unexpected_passes ? 1 : 0;
}

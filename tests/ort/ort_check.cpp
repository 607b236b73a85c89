// pare_ort_check: runs one model on one dataset in pare and in ONNX Runtime (run_ort.js under node) and checks that
// every output agrees within an absolute tolerance and that the top-1 class of every sample agrees. Works for any
// model and data pare can read, so compressed models are checked the same way as the originals.
//
//   pare_ort_check --model M.onnx --data D [--batch 64] [--limit N] [--atol 1e-4] [--min-agreement 1]
//                  --modules NODE_MODULES --script run_ort.js [--node node]
//
// Exit codes: 0 agreed, 1 disagreed or failed, 77 skipped (node or onnxruntime-node missing: ctest SKIP_RETURN_CODE).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/npy.h"
#include "exec/session.h"
#include "onnx/model_io.h"
#include "report/metrics.h"
#include "report/model_runner.h"

extern char** environ;

namespace fs = std::filesystem;

namespace {

constexpr int kSkip = 77;

struct Options {
    std::string model, data, modules, script, node = "node";
    int64_t batch = 64, limit = 0;
    double atol = 1e-4;
    double min_agreement = 1.0;
};

// Runs a program (looked up in PATH) and returns its exit status, or -1 if it could not start. `quiet` silences
// stdout, and stderr too when `quiet_errors`.
int run_program(const std::vector<std::string>& args, bool quiet, bool quiet_errors) {
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (quiet) posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (quiet_errors) posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    const int spawned = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) return -1;
    int status = 0;
    if (waitpid(pid, &status, 0) < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool parse_options(int argc, char** argv, Options& options) {
    std::map<std::string, std::string> given;
    for (int i = 1; i + 1 < argc; i += 2) given[argv[i]] = argv[i + 1];
    if (argc % 2 == 0) return false;  // a flag without its value
    const std::map<std::string, std::string*> strings = {{"--model", &options.model},   {"--data", &options.data},
                                                         {"--modules", &options.modules}, {"--script", &options.script},
                                                         {"--node", &options.node}};
    for (const auto& [flag, value] : given) {
        if (strings.count(flag)) *strings.at(flag) = value;
        else if (flag == "--batch") options.batch = std::stoll(value);
        else if (flag == "--limit") options.limit = std::stoll(value);
        else if (flag == "--atol") options.atol = std::stod(value);
        else if (flag == "--min-agreement") options.min_agreement = std::stod(value);
        else return false;
    }
    return !options.model.empty() && !options.data.empty() && !options.modules.empty() && !options.script.empty();
}

// Concatenates batches along dim 0.
pare::Tensor concat_rows(const std::vector<pare::Tensor>& parts) {
    pare::Shape shape = parts[0].shape();
    shape[0] = 0;
    for (const auto& part : parts) shape[0] += part.dim(0);
    pare::Tensor whole(parts[0].dtype(), shape);
    size_t offset = 0;
    for (const auto& part : parts) {
        std::memcpy(static_cast<char*>(whole.raw()) + offset, part.raw(), part.nbytes());
        offset += part.nbytes();
    }
    return whole;
}

// Runs the model in pare over every batch and returns each output concatenated over the samples.
pare::Result<std::vector<pare::Tensor>> run_pare(const pare::Model& model, pare::Dataset& dataset, int64_t batch) {
    pare::ModelRunner runner(model, pare::SessionOptions(), "'" + dataset.path() + "'");
    std::vector<std::vector<pare::Tensor>> parts;
    PARE_RETURN_IF_ERROR(
        dataset.for_each_batch(batch, [&](int64_t, const std::vector<pare::Tensor>& inputs) -> pare::Status {
            PARE_ASSIGN_OR_RETURN(std::vector<pare::Tensor> outputs, runner.run(inputs));
            parts.resize(outputs.size());
            for (size_t o = 0; o < outputs.size(); ++o) parts[o].push_back(outputs[o]);
            return pare::Status();
        }));
    std::vector<pare::Tensor> outputs;
    for (const auto& output_parts : parts) outputs.push_back(concat_rows(output_parts));
    return outputs;
}

int check(const Options& options) {
    const std::string label = fs::path(options.model).filename().string();
    if (run_program({options.node, "--version"}, true, true) != 0) {
        std::printf("SKIP: %s: '%s' is not runnable; install nodejs to cross-check against ONNX Runtime\n",
                    label.c_str(), options.node.c_str());
        return kSkip;
    }
    if (!fs::exists(fs::path(options.modules) / "onnxruntime-node" / "package.json")) {
        std::printf("SKIP: %s: onnxruntime-node is not installed in %s (run 'make ort')\n", label.c_str(),
                    options.modules.c_str());
        return kSkip;
    }
    auto fail = [&](const std::string& why) {
        std::printf("FAIL: %s: %s\n", label.c_str(), why.c_str());
        return 1;
    };
    pare::Result<pare::LoadedModel> loaded = pare::load_model(options.model);
    if (!loaded.ok()) return fail(loaded.status().message());
    const std::vector<std::string> unsupported = pare::find_unsupported_nodes(loaded->model);
    if (!unsupported.empty()) {
        std::string list;
        for (const auto& node : unsupported) list += (list.empty() ? "" : ", ") + node;
        return fail("pare cannot run " + list);
    }
    pare::Result<pare::Dataset> dataset = pare::Dataset::open(options.data, loaded->model.graph.input_names());
    if (!dataset.ok()) return fail(dataset.status().message());
    dataset->set_limit(options.limit);

    // The inputs ORT reads: exactly the samples pare runs, one .npy per input.
    const fs::path work = fs::temp_directory_path() / ("pare_ort_" + label + "_" + std::to_string(::getpid()));
    fs::remove_all(work);
    fs::create_directories(work);
    struct Cleanup {
        fs::path dir;
        ~Cleanup() { fs::remove_all(dir); }
    } cleanup{work};
    std::vector<std::string> command = {options.node, options.script,
                                        "--modules",  options.modules,
                                        "--model",    options.model,
                                        "--out",      (work / "ort").string(),
                                        "--batch",    std::to_string(options.batch)};
    {
        pare::Result<std::vector<pare::Tensor>> all = dataset->read(0, dataset->samples());
        if (!all.ok()) return fail(all.status().message());
        for (size_t i = 0; i < all->size(); ++i) {
            const std::string file = (work / ("input_" + std::to_string(i) + ".npy")).string();
            pare::Status written = pare::write_npy(file, (*all)[i]);
            if (!written.ok()) return fail(written.message());
            command.push_back(file);
        }
    }
    pare::Result<std::vector<pare::Tensor>> ours = run_pare(loaded->model, *dataset, options.batch);
    if (!ours.ok()) return fail("pare: " + ours.status().message());
    if (run_program(command, true, false) != 0) return fail("ONNX Runtime failed (see its message above)");

    bool agreed = true;
    for (size_t o = 0; o < ours->size(); ++o) {
        const std::string name = loaded->model.graph.output_names()[o];
        pare::Result<pare::Tensor> theirs =
            pare::read_npy((work / "ort" / ("output_" + std::to_string(o) + ".npy")).string());
        if (!theirs.ok()) return fail(theirs.status().message());
        const pare::Tensor& mine = (*ours)[o];
        if (mine.dtype() != theirs->dtype() || mine.shape() != theirs->shape()) {
            return fail("output '" + name + "' is " + pare::dtype_name(mine.dtype()) + " " +
                        pare::shape_to_string(mine.shape()) + " in pare but " + pare::dtype_name(theirs->dtype()) +
                        " " + pare::shape_to_string(theirs->shape()) + " in ONNX Runtime");
        }
        pare::ErrorStats error;
        if (!error.add(*theirs, mine).ok()) return fail("cannot compare output '" + name + "'");
        const bool close = error.max_abs_error() <= options.atol;
        std::printf("%s: output '%s' %s: max abs diff %.3g (atol %.3g)%s", label.c_str(), name.c_str(),
                    pare::shape_to_string(mine.shape()).c_str(), error.max_abs_error(), options.atol,
                    close ? "" : " TOO LARGE");
        agreed = agreed && close;
        if (o == 0) {
            pare::Result<pare::ScoreRows> a = pare::score_rows(*theirs, "ORT output");
            pare::Result<pare::ScoreRows> b = pare::score_rows(mine, "pare output");
            if (a.ok() && b.ok()) {
                pare::AgreementCounter agreement;
                if (!agreement.add(*a, *b).ok()) return fail("cannot compare top-1 of '" + name + "'");
                const bool enough = agreement.agreement() >= options.min_agreement;
                std::printf(", top-1 agreement %.0f/%lld%s", agreement.agreement() * agreement.samples(),
                            static_cast<long long>(agreement.samples()), enough ? "" : " TOO LOW");
                agreed = agreed && enough;
            }
        }
        std::printf("\n");
    }
    if (!agreed) return fail("pare and ONNX Runtime disagree");
    std::printf("PASS: %s on %lld samples of %s\n", label.c_str(), static_cast<long long>(dataset->samples()),
                options.data.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (!parse_options(argc, argv, options)) {
        std::fprintf(stderr,
                     "usage: pare_ort_check --model M.onnx --data D --modules NODE_MODULES --script run_ort.js "
                     "[--node node] [--batch N] [--limit N] [--atol X] [--min-agreement F]\n");
        return 2;
    }
    const int result = check(options);
    std::fflush(stdout);
    return result;
}

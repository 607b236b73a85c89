#include "common.h"

#include <malloc.h>
#include <omp.h>

#include <cstdio>
#include <iostream>

#include "core/file_io.h"
#include "core/log.h"
#include "core/progress.h"

namespace pare {

void apply_global_options(const GlobalOptions& global) {
    // glibc raises its mmap threshold whenever a large block is freed, after which blocks of that size come from a
    // heap that keeps growing with the mix of sizes: memory crept up with the number of batches. A fixed threshold at
    // glibc's own ceiling makes the heap reach its steady state within the first batch.
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    // oneDNN's CPU engine follows OpenMP's thread count.
    if (global.threads > 0) omp_set_num_threads(global.threads);
    set_progress_mode(parse_progress_mode(global.progress));
}

Result<LoadedModel> load_runnable_model(const std::string& path, const GlobalOptions& global) {
    PARE_ASSIGN_OR_RETURN(LoadedModel loaded, load_model(path));
    PARE_RETURN_IF_ERROR(check_supported(loaded.model, path, global));
    return loaded;
}

Status check_supported(const Model& model, const std::string& path, const GlobalOptions& global) {
    PARE_ASSIGN_OR_RETURN(SessionOptions options, session_options(global));
    const std::vector<std::string> nodes = find_unsupported_nodes(model, options.backend);
    if (nodes.empty()) return Status();
    std::string list;
    for (const auto& node : nodes) list += (list.empty() ? "" : ", ") + node;
    return unsupported("'" + path + "' has " + std::to_string(nodes.size()) + " node" + (nodes.size() == 1 ? "" : "s") +
                       " pare cannot run on " + global.device + ": " + list);
}

Status check_output_paths(const std::vector<std::pair<std::string, std::string>>& outputs,
                          const std::vector<std::string>& inputs) {
    for (const auto& [flag, output] : outputs) {
        if (output.empty() || output == "-") continue;
        for (const auto& input : inputs) {
            if (input.empty() || input == "-") continue;
            if (output == input || same_file(output, input)) {
                return usage_error(flag + " '" + output + "' is an input of this command; refusing to overwrite it");
            }
        }
        for (const auto& [other_flag, other] : outputs) {
            if (&other == &output || other.empty() || other == "-") continue;
            if (other == output || same_file(other, output)) {
                return usage_error(flag + " and " + other_flag + " both write '" + output + "'");
            }
        }
    }
    return Status();
}

Result<Dataset> open_dataset(const std::string& path, const std::vector<std::string>& input_names,
                             const DataOptions& options, int64_t limit, const GlobalOptions& global) {
    PARE_ASSIGN_OR_RETURN(ImageOptions image, parse_image_options(options.image));
    PARE_ASSIGN_OR_RETURN(Dataset dataset, Dataset::open(path, input_names, image));
    for (const auto& message : dataset.skipped()) log_warning(message);
    if (options.shuffle) dataset.set_order(global.seed);
    dataset.set_limit(limit);
    return dataset;
}

Result<std::vector<int64_t>> dataset_labels(const Dataset& dataset, const std::string& labels_path) {
    if (labels_path.empty()) return dataset.labels();
    PARE_ASSIGN_OR_RETURN(std::vector<int64_t> by_source, read_labels(labels_path));
    auto arranged = dataset.arrange_labels(by_source);
    if (!arranged.ok()) return arranged.status().with_context("labels '" + labels_path + "'");
    return arranged;
}

Result<SessionOptions> session_options(const GlobalOptions& global) {
    SessionOptions options;
    if (global.device == "cpu") {
        options.backend = Backend::kCpu;
    } else if (global.device == "cuda" || global.device.rfind("cuda:", 0) == 0) {
        options.backend = Backend::kCuda;
    } else {
        return usage_error("--device must be cpu or cuda[:i], not '" + global.device + "'");
    }
    options.threads = global.threads;
    return options;
}

Status emit_report(const Report& report, const GlobalOptions& global, bool report_to_stdout,
                   const std::function<void(std::ostream&)>& summary) {
    if (report_to_stdout || global.report_path == "-") {
        PARE_RETURN_IF_ERROR(report.write("-"));
    } else {
        summary(std::cout);
        std::cout.flush();
    }
    if (!global.report_path.empty() && global.report_path != "-")
        PARE_RETURN_IF_ERROR(report.write(global.report_path));
    return Status();
}

std::string with_commas(int64_t value) {
    std::string digits = std::to_string(value < 0 ? -value : value);
    for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<size_t>(i), ",");
    return value < 0 ? "-" + digits : digits;
}

std::string format_number(const char* format, double value) {
    char text[64];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

}  // namespace pare

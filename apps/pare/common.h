// Steps the subcommands share: loading a model they will run, refusing to overwrite inputs, mapping global flags to
// session options, and writing the report and the human summary to their places.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "data/dataset.h"
#include "exec/session.h"
#include "onnx/model_io.h"
#include "report/report.h"

namespace pare {

/// Loads a model and, before any other work, fails with kUnsupported listing every node the engine cannot run.
Result<LoadedModel> load_runnable_model(const std::string& path, const GlobalOptions& global);

/// Fails with kUnsupported listing every node of `model` the engine cannot run on the chosen device.
Status check_supported(const Model& model, const std::string& path, const GlobalOptions& global);

/// Refuses (kUsage) an output path that names an input file: `outputs` are (flag, path) pairs, empty paths and "-"
/// are skipped.
Status check_output_paths(const std::vector<std::pair<std::string, std::string>>& outputs,
                          const std::vector<std::string>& inputs);

/// Opens a dataset with the image settings and read order the flags ask for and keeps its first `limit` positions
/// (0: all); warns once per image left out under --skip-bad.
Result<Dataset> open_dataset(const std::string& path, const std::vector<std::string>& input_names,
                             const DataOptions& options, int64_t limit, const GlobalOptions& global);

/// Class labels in the dataset's read order: from `labels_path` (.npy, one per sample of the source) or, without it,
/// the dataset's own (an image list with a label column); empty when there are none.
Result<std::vector<int64_t>> dataset_labels(const Dataset& dataset, const std::string& labels_path);

/// The session options the global flags ask for (device, threads).
Result<SessionOptions> session_options(const GlobalOptions& global);

/// Writes the report to --report (a file or "-") and, unless the report went to stdout, the human summary to stdout.
/// `report_to_stdout` forces the report onto stdout (inspect --json).
Status emit_report(const Report& report, const GlobalOptions& global, bool report_to_stdout,
                   const std::function<void(std::ostream&)>& summary);

/// "1,234,567".
std::string with_commas(int64_t value);

/// Number formatted with printf-style `format` ("%.4f").
std::string format_number(const char* format, double value);

}  // namespace pare

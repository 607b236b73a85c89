#include "report/report.h"

#include "core/file_io.h"
#include "onnx/model_io.h"
#include "report/model_stats.h"

namespace pare {

Report::Report(const std::string& command, const std::vector<std::string>& argv) {
    json_["schema"] = "pare.report/1";
    json_["command"] = command;
    json_["status"] = "ok";
    json_["tool"] = {{"name", "pare"}, {"version", PARE_VERSION}};
    json_["argv"] = argv;
}

void Report::set_input_model(const LoadedModel& loaded, const ModelStats& stats) {
    nlohmann::ordered_json model;
    model["path"] = loaded.path;
    model["sha256"] = loaded.sha256;
    model["bytes"] = loaded.file_bytes + loaded.external_bytes;
    model["parameters"] = stats.parameters;
    json_["inputs"]["model"] = model;
}

Status Report::write(const std::string& path) const { return write_file_atomic(path, json_.dump(2) + "\n"); }

}  // namespace pare

#include "report/report.h"

#include <sys/resource.h>

#include <cmath>

#include "core/file_io.h"
#include "core/sha256.h"
#include "data/dataset.h"
#include "onnx/model_io.h"
#include "report/metrics.h"
#include "report/model_stats.h"

namespace pare {

Report::Report(const std::string& command, const std::vector<std::string>& argv) {
    json_["schema"] = "pare.report/1";
    json_["command"] = command;
    json_["status"] = "ok";
    json_["tool"] = {{"name", "pare"}, {"version", PARE_VERSION}};
    json_["argv"] = argv;
}

void Report::set_input_model(const LoadedModel& loaded, const ModelStats& stats, const std::string& key) {
    nlohmann::ordered_json model;
    model["path"] = loaded.path;
    model["sha256"] = loaded.sha256;
    model["bytes"] = loaded.file_bytes + loaded.external_bytes;
    model["parameters"] = stats.parameters;
    json_["inputs"][key] = model;
}

Status Report::set_input_data(const Dataset& dataset) {
    PARE_ASSIGN_OR_RETURN(std::string sha256, dataset_sha256(dataset.path()));
    nlohmann::ordered_json data;
    data["path"] = dataset.path();
    data["format"] = dataset.format();
    data["sha256"] = sha256;
    data["samples"] = dataset.samples();
    data["shuffled"] = dataset.shuffled();
    if (dataset.format().rfind("image", 0) == 0) {
        data["image_options"] = describe_image_options(dataset.image_options());
        data["skipped"] = dataset.skipped();
    }
    json_["inputs"]["data"] = data;
    return Status();
}

Status Report::set_input_labels(const std::string& path, int64_t samples) {
    PARE_ASSIGN_OR_RETURN(std::string sha256, sha256_file(path));
    json_["inputs"]["labels"] = {{"path", path}, {"sha256", sha256}, {"samples", samples}};
    return Status();
}

void Report::set_peak_memory() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    json_["memory"]["peak_rss_bytes"] = static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

Status Report::write(const std::string& path) const { return write_file_atomic(path, json_.dump(2) + "\n"); }

nlohmann::ordered_json json_number(std::optional<double> value) {
    if (!value || !std::isfinite(*value)) return nullptr;
    return *value;
}

nlohmann::ordered_json error_stats_json(const ErrorStats& stats) {
    nlohmann::ordered_json json;
    json["sqnr_db"] = json_number(stats.sqnr_db());
    json["cosine"] = json_number(stats.cosine());
    json["max_abs_error"] = json_number(stats.max_abs_error());
    json["mean_abs_error"] = json_number(stats.mean_abs_error());
    return json;
}

nlohmann::ordered_json latency_json(const LatencySummary& latency) {
    nlohmann::ordered_json json;
    json["runs"] = latency.runs;
    json["mean_ms"] = latency.mean_ms;
    json["p50_ms"] = latency.p50_ms;
    json["p90_ms"] = latency.p90_ms;
    json["min_ms"] = latency.min_ms;
    json["max_ms"] = latency.max_ms;
    return json;
}

}  // namespace pare

// The JSON report every subcommand writes (schema "pare.report/1", see docs/report-schema.json).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace pare {

struct LoadedModel;
struct ModelStats;
class Dataset;
class ErrorStats;
struct LatencySummary;

/// Builds a report with the stable core fields filled in order; commands add their sections.
class Report {
public:
    Report(const std::string& command, const std::vector<std::string>& argv);

    nlohmann::ordered_json& json() { return json_; }
    const nlohmann::ordered_json& json() const { return json_; }

    /// inputs.<key> ("model", or "reference" for the model compared against): path, sha256, bytes, parameters.
    void set_input_model(const LoadedModel& loaded, const ModelStats& stats, const std::string& key = "model");
    /// inputs.data: path, format, sha256 (see dataset_sha256), samples used.
    Status set_input_data(const Dataset& dataset);
    /// inputs.labels: path, sha256, samples.
    Status set_input_labels(const std::string& path, int64_t samples);
    /// timing.<phase>_s.
    void set_timing(const std::string& phase, double seconds) { json_["timing"][phase + "_s"] = seconds; }
    /// memory.peak_rss_bytes: the process's peak resident memory so far (shows that memory does not grow with data).
    void set_peak_memory();
    void set_status(const std::string& status) { json_["status"] = status; }

    /// Writes the report to a file (atomically) or stdout ("-"), pretty-printed with a trailing newline.
    Status write(const std::string& path) const;

private:
    nlohmann::ordered_json json_;
};

/// A number, or null when it is absent, NaN or infinite (JSON has no such numbers).
nlohmann::ordered_json json_number(std::optional<double> value);

/// {"sqnr_db", "cosine", "max_abs_error", "mean_abs_error"} of an error accumulator.
nlohmann::ordered_json error_stats_json(const ErrorStats& stats);

/// {"runs", "mean_ms", "p50_ms", "p90_ms", "min_ms", "max_ms"}.
nlohmann::ordered_json latency_json(const LatencySummary& latency);

}  // namespace pare

// The JSON report every subcommand writes (schema "pare.report/1", see docs/report-schema.json).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace pare {

struct LoadedModel;
struct ModelStats;

/// Builds a report with the stable core fields filled in order; commands add their sections.
class Report {
public:
    Report(const std::string& command, const std::vector<std::string>& argv);

    nlohmann::ordered_json& json() { return json_; }
    const nlohmann::ordered_json& json() const { return json_; }

    /// inputs.model: path, sha256, bytes, parameters.
    void set_input_model(const LoadedModel& loaded, const ModelStats& stats);
    void set_status(const std::string& status) { json_["status"] = status; }

    /// Writes the report to a file (atomically) or stdout ("-"), pretty-printed with a trailing newline.
    Status write(const std::string& path) const;

private:
    nlohmann::ordered_json json_;
};

}  // namespace pare

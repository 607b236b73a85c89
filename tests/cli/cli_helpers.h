// Running the pare binary from tests, and checking reports against docs/report-schema.json.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace pare_cli {

struct RunResult {
    int code = -1;
    std::string out;  // stdout
    std::string err;  // stderr
};

/// Runs the pare binary with `args` (no shell involved), stdin from /dev/null.
RunResult run_pare(const std::vector<std::string>& args);

/// The report a successful run printed on stdout, checked against docs/report-schema.json.
nlohmann::json parse_report(const RunResult& run);
/// A report file a run wrote (--report FILE), checked against the schema like parse_report's.
nlohmann::json read_report(const std::string& path);

/// Checks a failed run: exit `code`, nothing on stdout, one stderr line "pare: error: ...".
void check_one_error_line(const RunResult& run, int code);

/// A path named `name` in this test process's own temporary directory.
std::string temp_file(const std::string& name);

/// Lines of a text, without their newlines (a trailing newline does not start an empty line).
std::vector<std::string> lines(const std::string& text);

/// Path of a file under the source tree, the sample data, or the fixtures.
std::string source_path(const std::string& relative);
std::string sample_path(const std::string& relative);
std::string fixture_path(const std::string& relative);

/// Validates `value` against the JSON Schema subset docs/report-schema.json uses (type, const, enum, required,
/// properties, patternProperties, additionalProperties, items, allOf, if/then, $ref into $defs, minimum, maximum,
/// pattern). Returns the violations, each with its JSON pointer; empty when valid.
std::vector<std::string> schema_violations(const nlohmann::json& schema, const nlohmann::json& value);

/// docs/report-schema.json, parsed.
const nlohmann::json& report_schema();

}  // namespace pare_cli

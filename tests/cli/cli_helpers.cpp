#include "cli_helpers.h"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/file_io.h"

extern char** environ;

namespace pare_cli {

namespace {

std::string slurp(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

bool has_type(const nlohmann::json& value, const std::string& type) {
    if (type == "object") return value.is_object();
    if (type == "array") return value.is_array();
    if (type == "string") return value.is_string();
    if (type == "integer") return value.is_number_integer();
    if (type == "number") return value.is_number();
    if (type == "boolean") return value.is_boolean();
    if (type == "null") return value.is_null();
    return false;
}

class Validator {
public:
    explicit Validator(const nlohmann::json& root) : root_(root) {}

    void check(const nlohmann::json& schema, const nlohmann::json& value, const std::string& where,
               std::vector<std::string>& errors) const {
        if (schema.contains("$ref")) {
            const std::string ref = schema["$ref"];
            const std::string prefix = "#/$defs/";
            if (ref.compare(0, prefix.size(), prefix) != 0 || !root_["$defs"].contains(ref.substr(prefix.size()))) {
                errors.push_back(where + ": unresolvable $ref " + ref);
                return;
            }
            check(root_["$defs"][ref.substr(prefix.size())], value, where, errors);
        }
        if (schema.contains("type")) {
            const nlohmann::json types =
                schema["type"].is_string() ? nlohmann::json::array({schema["type"]}) : schema["type"];
            bool ok = false;
            for (const auto& type : types) ok = ok || has_type(value, type);
            if (!ok) {
                errors.push_back(where + ": " + value.dump() + " is not of type " + schema["type"].dump());
                return;
            }
        }
        if (schema.contains("const") && value != schema["const"])
            errors.push_back(where + ": not " + schema["const"].dump());
        if (schema.contains("enum") &&
            std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end()) {
            errors.push_back(where + ": " + value.dump() + " is not one of " + schema["enum"].dump());
        }
        if (value.is_number()) {
            if (schema.contains("minimum") && value.get<double>() < schema["minimum"].get<double>()) {
                errors.push_back(where + ": " + value.dump() + " < minimum " + schema["minimum"].dump());
            }
            if (schema.contains("maximum") && value.get<double>() > schema["maximum"].get<double>()) {
                errors.push_back(where + ": " + value.dump() + " > maximum " + schema["maximum"].dump());
            }
        }
        if (value.is_string() && schema.contains("pattern") &&
            !std::regex_search(value.get<std::string>(), std::regex(schema["pattern"].get<std::string>()))) {
            errors.push_back(where + ": '" + value.get<std::string>() + "' does not match " + schema["pattern"].dump());
        }
        if (value.is_object()) check_object(schema, value, where, errors);
        if (value.is_array() && schema.contains("items")) {
            for (size_t i = 0; i < value.size(); ++i)
                check(schema["items"], value[i], where + "/" + std::to_string(i), errors);
        }
        if (schema.contains("allOf")) {
            for (const auto& part : schema["allOf"]) check(part, value, where, errors);
        }
        if (schema.contains("if")) {
            std::vector<std::string> condition;
            check(schema["if"], value, where, condition);
            if (condition.empty() && schema.contains("then")) check(schema["then"], value, where, errors);
        }
    }

private:
    void check_object(const nlohmann::json& schema, const nlohmann::json& value, const std::string& where,
                      std::vector<std::string>& errors) const {
        if (schema.contains("required")) {
            for (const auto& key : schema["required"]) {
                if (!value.contains(key.get<std::string>()))
                    errors.push_back(where + ": missing '" + key.get<std::string>() + "'");
            }
        }
        for (const auto& [key, child] : value.items()) {
            bool matched = false;
            if (schema.contains("properties") && schema["properties"].contains(key)) {
                check(schema["properties"][key], child, where + "/" + key, errors);
                matched = true;
            }
            if (schema.contains("patternProperties")) {
                for (const auto& [pattern, sub] : schema["patternProperties"].items()) {
                    if (!std::regex_search(key, std::regex(pattern))) continue;
                    check(sub, child, where + "/" + key, errors);
                    matched = true;
                }
            }
            if (matched || !schema.contains("additionalProperties")) continue;
            const auto& extra = schema["additionalProperties"];
            if (extra.is_boolean() && !extra.get<bool>()) errors.push_back(where + ": unexpected key '" + key + "'");
            if (extra.is_object()) check(extra, child, where + "/" + key, errors);
        }
    }

    const nlohmann::json& root_;
};

}  // namespace

RunResult run_pare(const std::vector<std::string>& args) {
    char out_path[] = "/tmp/pare_cli_out_XXXXXX";
    char err_path[] = "/tmp/pare_cli_err_XXXXXX";
    const int out_fd = ::mkstemp(out_path);
    const int err_fd = ::mkstemp(err_path);
    std::vector<std::string> full = {PARE_BINARY};
    full.insert(full.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : full) argv.push_back(&arg[0]);
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
    RunResult result;
    pid_t pid = 0;
    if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    ::close(out_fd);
    ::close(err_fd);
    result.out = slurp(out_path);
    result.err = slurp(err_path);
    ::unlink(out_path);
    ::unlink(err_path);
    return result;
}

namespace {

void check_report_schema(const nlohmann::json& report) {
    const auto violations = schema_violations(report_schema(), report);
    for (const auto& violation : violations) MESSAGE("schema: " << violation);
    CHECK(violations.empty());
}

}  // namespace

nlohmann::json read_report(const std::string& path) {
    nlohmann::json report = nlohmann::json::parse(pare::read_file(path).value());
    check_report_schema(report);
    return report;
}

nlohmann::json parse_report(const RunResult& run) {
    INFO("stderr: " << run.err);
    REQUIRE(run.code == 0);
    nlohmann::json report = nlohmann::json::parse(run.out);
    check_report_schema(report);
    return report;
}

void check_one_error_line(const RunResult& run, int code) {
    INFO("stderr: " << run.err);
    CHECK(run.code == code);
    CHECK(run.out.empty());
    const auto err = lines(run.err);
    REQUIRE(err.size() == 1);
    CHECK(err[0].rfind("pare: error: ", 0) == 0);
}

std::string temp_file(const std::string& name) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("pare_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return (dir / name).string();
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> result;
    std::istringstream stream(text);
    for (std::string line; std::getline(stream, line);) result.push_back(line);
    return result;
}

std::string source_path(const std::string& relative) { return std::string(PARE_SOURCE_DIR) + "/" + relative; }
std::string sample_path(const std::string& relative) { return std::string(PARE_SAMPLE_DATA) + "/" + relative; }
std::string fixture_path(const std::string& relative) { return source_path("tests/fixtures/" + relative); }

std::vector<std::string> schema_violations(const nlohmann::json& schema, const nlohmann::json& value) {
    std::vector<std::string> errors;
    Validator(schema).check(schema, value, "", errors);
    return errors;
}

const nlohmann::json& report_schema() {
    static const nlohmann::json schema = nlohmann::json::parse(slurp(source_path("docs/report-schema.json")));
    return schema;
}

}  // namespace pare_cli

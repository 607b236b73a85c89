// pare command line: all CLI11 code lives here; each subcommand's work is in cmd_<name>.cpp.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "commands.h"
#include "core/log.h"

namespace {

// Global flags are accepted on every subcommand, before or after its own arguments.
void add_global_flags(CLI::App& app, pare::GlobalOptions& global) {
    app.add_option("--threads", global.threads, "Worker threads (0: all cores)")->capture_default_str();
    app.add_option("--device", global.device, "cpu or cuda[:i]")->capture_default_str();
    app.add_option("--seed", global.seed, "Seed for every random choice")->capture_default_str();
    app.add_option("--report", global.report_path, "Write the JSON report to FILE ('-': stdout)");
    app.add_flag("--quiet,-q", global.quiet, "Only errors on stderr");
    app.add_flag("--verbose,-v", global.verbose, "Explain decisions on stderr");
    app.add_option("--progress", global.progress, "Progress bar on stderr")
        ->check(CLI::IsMember({"auto", "always", "never"}))
        ->capture_default_str();
}

int report_failure(const pare::Status& status) {
    std::fprintf(stderr, "pare: error: %s\n", status.message().c_str());
    return static_cast<int>(status.code());
}

}  // namespace

int main(int argc, char** argv) {
    pare::GlobalOptions global;
    for (int i = 0; i < argc; ++i) global.argv.emplace_back(argv[i]);

    CLI::App app{"pare: compress ONNX models (pruning, quantization, distillation) with an accuracy/size report"};
    app.set_version_flag("--version", std::string("pare ") + PARE_VERSION);
    app.require_subcommand(1);
    add_global_flags(app, global);
    app.fallthrough();

    pare::InspectOptions inspect;
    CLI::App* inspect_cmd = app.add_subcommand("inspect", "Describe a model: inputs, outputs, ops, parameters, layers");
    inspect_cmd->add_option("model", inspect.model, "ONNX model file ('-': stdin)")->required();
    inspect_cmd->add_flag("--json", inspect.json, "Print the JSON report instead of the summary");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        if (error.get_exit_code() == 0) return app.exit(error);  // --help, --version
        std::fprintf(stderr, "pare: usage error: %s\n", error.what());
        std::fprintf(stderr, "Run 'pare --help' for usage.\n");
        return static_cast<int>(pare::ErrorCode::kUsage);
    }
    if (global.quiet && global.verbose) {
        return report_failure(pare::usage_error("--quiet and --verbose cannot be combined"));
    }
    pare::set_log_level(global.quiet ? pare::LogLevel::kQuiet
                                     : global.verbose ? pare::LogLevel::kVerbose : pare::LogLevel::kNormal);
    try {
        pare::Status status;
        if (inspect_cmd->parsed()) status = pare::run_inspect(inspect, global);
        return status.ok() ? 0 : report_failure(status);
    } catch (const std::bad_alloc&) {
        return report_failure(pare::internal_error("out of memory"));
    } catch (const std::exception& error) {
        return report_failure(pare::internal_error(error.what()));
    }
}

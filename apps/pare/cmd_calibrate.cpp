// pare calibrate: one pass of data through the model, every activation's statistics into a calibration table.
#include <chrono>

#include "calibration/calibrate.h"
#include "common.h"
#include "core/file_io.h"
#include "core/sha256.h"
#include "graph/passes.h"
#include "onnx/shape_inference.h"
#include "report/model_stats.h"

namespace pare {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void print_summary(const nlohmann::ordered_json& r, std::ostream& out) {
    const auto& c = r["calibration"];
    out << "calibrated " << c["tensors"] << " tensors of " << r["inputs"]["model"]["path"].get<std::string>() << " on "
        << with_commas(c["samples"].get<int64_t>()) << " samples in "
        << format_number("%.2f", r["timing"]["total_s"].get<double>()) << " s\n";
    out << "table: " << r["output"]["path"].get<std::string>() << " (" << c["method"].get<std::string>()
        << " ranges shown below; the table holds minmax, percentile, entropy and mse)\n";
    for (const char* kind : {"constant_tensors", "unsettled_tensors"}) {
        const auto& names = c["diagnostics"][kind];
        if (names.empty()) continue;
        out << (std::string(kind) == "constant_tensors" ? "constant" : "not settled (halves of the data disagree)")
            << ": ";
        for (size_t i = 0; i < names.size() && i < 8; ++i) out << (i ? ", " : "") << names[i].get<std::string>();
        out << (names.size() > 8 ? ", ..." : "") << "\n";
    }
    out << "recommended samples: " << c["diagnostics"]["recommended_samples"] << "\n";
}

}  // namespace

Status run_calibrate(const CalibrateOptions& options, const GlobalOptions& global) {
    const auto started = Clock::now();
    if (options.batch <= 0 || options.samples < 0) return usage_error("--batch must be positive and --samples >= 0");
    PARE_RETURN_IF_ERROR(
        check_output_paths({{"-o", options.output}, {"--report", global.report_path}}, {options.model, options.data}));
    PARE_RETURN_IF_ERROR(parse_range_method(options.method).status());
    PARE_ASSIGN_OR_RETURN(SessionOptions session, session_options(global));
    PARE_ASSIGN_OR_RETURN(LoadedModel loaded, load_runnable_model(options.model, global));
    // Calibrate the graph the compressors will rewrite, so tensor names agree with theirs.
    Model model = loaded.model;
    simplify_for_compression(model.graph);

    PARE_ASSIGN_OR_RETURN(Dataset dataset, open_dataset(options.data, model.graph.input_names(), options.data_options,
                                                        options.samples, global));
    CalibrateConfig config;
    config.batch = options.batch;
    config.per_channel = options.per_channel;
    auto calibrated = calibrate(model, dataset, session, config);
    if (!calibrated.ok()) return calibrated.status().with_context("calibrating '" + options.model + "'");
    CalibrationTable table = std::move(calibrated).value();
    table.model_path = options.model;
    table.model_sha256 = loaded.sha256;
    table.dataset_description = dataset.format() + " " + options.data;
    Report report("calibrate", global.argv);
    report.set_input_model(loaded, compute_model_stats(loaded.model, infer_value_types(loaded.model)));
    PARE_RETURN_IF_ERROR(report.set_input_data(dataset));
    auto& json = report.json();
    table.dataset_sha256 = json["inputs"]["data"]["sha256"].get<std::string>();  // hashed once for both
    RangeOptions range_options;
    range_options.percentile = options.percentile;
    range_options.bits = options.bits;
    table.config = {{"method", options.method},
                    {"batch", options.batch},
                    {"samples", dataset.samples()},
                    {"percentile", options.percentile},
                    {"bits", options.bits},
                    {"per_channel", options.per_channel},
                    {"shuffle", options.data_options.shuffle},
                    {"seed", global.seed}};
    PARE_RETURN_IF_ERROR(save_calibration_table(table, range_options, options.output));

    json["config"] = table.config;
    PARE_ASSIGN_OR_RETURN(std::string written, read_file(options.output));
    json["output"] = {{"path", options.output}, {"sha256", sha256_hex(written)}, {"bytes", written.size()}};
    // The summary's ranges are the chosen method's, as the table holds them.
    const nlohmann::ordered_json written_table = nlohmann::ordered_json::parse(written);
    nlohmann::ordered_json ranges = nlohmann::ordered_json::object();
    for (const auto& [name, entry] : written_table["tensors"].items()) {
        ranges[name] = {{"min", entry["min"]},
                        {"max", entry["max"]},
                        {"asymmetric", entry["ranges"][options.method]["asymmetric"]},
                        {"symmetric", entry["ranges"][options.method]["symmetric"]}};
    }
    json["calibration"] = {{"method", options.method},
                           {"samples", table.samples},
                           {"tensors", table.tensors.size()},
                           {"diagnostics",
                            {{"constant_tensors", table.constant_tensors()},
                             {"unsettled_tensors", table.unsettled_tensors()},
                             {"recommended_samples", table.recommended_samples()}}},
                           {"ranges", ranges}};
    report.set_timing("total", seconds_since(started));
    report.set_peak_memory();
    return emit_report(report, global, false, [&](std::ostream& out) { print_summary(report.json(), out); });
}

}  // namespace pare

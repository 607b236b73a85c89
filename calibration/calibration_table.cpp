#include "calibration/calibration_table.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/file_io.h"

namespace pare {

namespace {

constexpr const char* kSchema = "pare.calibration/2";

bool unsettled(const TensorStats& stats) {
    const MinMax& a = stats.first_half();
    const MinMax& b = stats.second_half();
    if (a.empty() || b.empty()) return false;
    const double span = std::max(stats.range().max - stats.range().min, 1e-12);
    return std::fabs(a.min - b.min) > kUnsettledFraction * span || std::fabs(a.max - b.max) > kUnsettledFraction * span;
}

nlohmann::ordered_json pair_json(double lo, double hi) { return nlohmann::ordered_json::array({lo, hi}); }

// Runs of non-empty bins as text, "first_bin:count,count,... first_bin:count,...": most bins of an activation
// histogram are empty, and one string per tensor keeps the table's JSON tree small while it is written and read.
std::string compact_counts(const Histogram& histogram) {
    std::string runs;
    const auto& counts = histogram.counts();
    for (int b = 0; b < Histogram::kBins;) {
        if (!counts[b]) {
            ++b;
            continue;
        }
        runs += (runs.empty() ? "" : " ") + std::to_string(b) + ":";
        for (bool first = true; b < Histogram::kBins && counts[b]; first = false) {
            runs += (first ? "" : ",") + std::to_string(counts[b++]);
        }
    }
    return runs;
}

Result<std::vector<uint64_t>> expand_counts(const std::string& runs) {
    std::vector<uint64_t> counts(Histogram::kBins, 0);
    std::istringstream text(runs);
    std::string run;
    while (text >> run) {
        const size_t colon = run.find(':');
        if (colon == std::string::npos || colon == 0) return invalid_input("malformed histogram run '" + run + "'");
        try {
            int64_t bin = std::stoll(run.substr(0, colon));
            std::istringstream values(run.substr(colon + 1));
            std::string value;
            while (std::getline(values, value, ',')) {
                if (bin < 0 || bin >= Histogram::kBins) return invalid_input("histogram bin out of range");
                if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
                    return invalid_input("malformed histogram run '" + run + "'");
                }
                counts[static_cast<size_t>(bin++)] = std::stoull(value);
            }
        } catch (const std::exception&) {
            return invalid_input("malformed histogram run '" + run + "'");
        }
    }
    return counts;
}

MinMax minmax_from(const nlohmann::json& pair) {
    MinMax m;
    if (pair.is_array() && pair.size() == 2) m.add(pair[0].get<double>()), m.add(pair[1].get<double>());
    return m;
}

}  // namespace

Result<MethodRange> CalibrationTable::range(const std::string& tensor, RangeMethod method,
                                            const RangeOptions& options) const {
    auto it = tensors.find(tensor);
    if (it == tensors.end())
        return invalid_input("the calibration table has no statistics for tensor '" + tensor + "'");
    return compute_range(it->second.range(), it->second.histogram(), method, options);
}

std::vector<std::string> CalibrationTable::constant_tensors() const {
    std::vector<std::string> names;
    for (const auto& [name, stats] : tensors) {
        if (!stats.range().empty() && stats.range().min == stats.range().max) names.push_back(name);
    }
    return names;
}

std::vector<std::string> CalibrationTable::unsettled_tensors() const {
    std::vector<std::string> names;
    for (const auto& [name, stats] : tensors) {
        if (unsettled(stats)) names.push_back(name);
    }
    return names;
}

int64_t CalibrationTable::recommended_samples() const {
    int64_t settled = 0;
    for (const auto& [name, stats] : tensors) settled = std::max(settled, stats.settled_at());
    return std::max<int64_t>(64, 2 * settled);
}

nlohmann::ordered_json CalibrationTable::to_json(const RangeOptions& options) const {
    nlohmann::ordered_json json;
    json["schema"] = kSchema;
    json["model"] = {{"path", model_path}, {"sha256", model_sha256}};
    json["dataset"] = {{"description", dataset_description}, {"sha256", dataset_sha256}, {"samples", samples}};
    json["config"] = config;
    json["histogram_bins"] = Histogram::kBins;
    json["histogram_values_per_sample"] = kHistogramValuesPerSample;
    // Every method's range of every tensor, computed in parallel: each is independent of the others.
    constexpr RangeMethod kMethods[] = {RangeMethod::kMinMax, RangeMethod::kPercentile, RangeMethod::kEntropy,
                                        RangeMethod::kMse};
    constexpr int kMethodCount = sizeof kMethods / sizeof kMethods[0];
    std::vector<const TensorStats*> ordered;
    for (const auto& [name, stats] : tensors) ordered.push_back(&stats);
    std::vector<MethodRange> computed(ordered.size() * kMethodCount);
#pragma omp parallel for schedule(dynamic)
    for (int64_t job = 0; job < static_cast<int64_t>(computed.size()); ++job) {
        const TensorStats& stats = *ordered[static_cast<size_t>(job / kMethodCount)];
        computed[static_cast<size_t>(job)] =
            compute_range(stats.range(), stats.histogram(), kMethods[job % kMethodCount], options);
    }
    nlohmann::ordered_json entries = nlohmann::ordered_json::object();
    size_t job = 0;
    for (const auto& [name, stats] : tensors) {
        nlohmann::ordered_json entry;
        entry["min"] = stats.range().min;
        entry["max"] = stats.range().max;
        nlohmann::ordered_json ranges;
        for (RangeMethod method : kMethods) {
            const MethodRange& r = computed[job++];
            ranges[range_method_name(method)] = {{"symmetric", pair_json(r.symmetric.lo, r.symmetric.hi)},
                                                 {"asymmetric", pair_json(r.asymmetric.lo, r.asymmetric.hi)}};
        }
        entry["ranges"] = ranges;
        if (!stats.channels().empty()) {
            nlohmann::ordered_json channels = nlohmann::ordered_json::array();
            for (const MinMax& c : stats.channels()) channels.push_back(pair_json(c.min, c.max));
            entry["per_channel"] = channels;
        }
        entry["histogram"] = {{"exponent", stats.histogram().exponent()}, {"runs", compact_counts(stats.histogram())}};
        entry["diagnostics"] = {{"constant", stats.range().min == stats.range().max},
                                {"first_half", pair_json(stats.first_half().min, stats.first_half().max)},
                                {"second_half", pair_json(stats.second_half().min, stats.second_half().max)},
                                {"unsettled", unsettled(stats)},
                                {"settled_at", stats.settled_at()}};
        entries[name] = entry;
    }
    json["tensors"] = entries;
    json["diagnostics"] = {{"constant_tensors", constant_tensors()},
                           {"unsettled_tensors", unsettled_tensors()},
                           {"unsettled_fraction", kUnsettledFraction},
                           {"recommended_samples", recommended_samples()}};
    return json;
}

Result<CalibrationTable> CalibrationTable::from_json(const nlohmann::json& json) {
    if (!json.is_object() || json.value("schema", "") != kSchema) {
        return invalid_input(std::string("not a pare calibration table (schema ") + kSchema + " expected)");
    }
    try {
        CalibrationTable table;
        table.model_path = json.at("model").value("path", "");
        table.model_sha256 = json.at("model").at("sha256").get<std::string>();
        table.dataset_description = json.at("dataset").value("description", "");
        table.dataset_sha256 = json.at("dataset").value("sha256", "");
        table.samples = json.at("dataset").at("samples").get<int64_t>();
        table.config = json.value("config", nlohmann::ordered_json::object());
        if (json.at("histogram_bins").get<int>() != Histogram::kBins) {
            return invalid_input("calibration table histograms have a different bin count");
        }
        for (const auto& [name, entry] : json.at("tensors").items()) {
            MinMax range;
            range.add(entry.at("min").get<double>());
            range.add(entry.at("max").get<double>());
            std::vector<MinMax> channels;
            if (entry.contains("per_channel")) {
                for (const auto& pair : entry["per_channel"]) channels.push_back(minmax_from(pair));
            }
            PARE_ASSIGN_OR_RETURN(std::vector<uint64_t> counts,
                                  expand_counts(entry.at("histogram").at("runs").get<std::string>()));
            const auto& diagnostics = entry.at("diagnostics");
            table.tensors.emplace(
                name, TensorStats::restore(
                          name, range, minmax_from(diagnostics.at("first_half")),
                          minmax_from(diagnostics.at("second_half")), std::move(channels),
                          Histogram::from_counts(entry.at("histogram").at("exponent").get<int>(), std::move(counts)),
                          table.samples, diagnostics.at("settled_at").get<int64_t>()));
        }
        return table;
    } catch (const nlohmann::json::exception& error) {
        return invalid_input(std::string("malformed calibration table: ") + error.what());
    }
}

Status save_calibration_table(const CalibrationTable& table, const RangeOptions& options, const std::string& path) {
    return write_file_atomic(path, table.to_json(options).dump(1) + "\n");
}

Result<CalibrationTable> load_calibration_table(const std::string& path) {
    PARE_ASSIGN_OR_RETURN(std::string text, read_file(path));
    const nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded()) return invalid_input("'" + path + "' is not JSON");
    auto table = CalibrationTable::from_json(json);
    if (!table.ok()) return table.status().with_context("'" + path + "'");
    return table;
}

}  // namespace pare

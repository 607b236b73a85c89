#include "quantize_budget.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include "common.h"
#include "core/file_io.h"
#include "quantize/local_error.h"
#include "report/metrics.h"
#include "report/model_runner.h"

namespace pare {

namespace {

using Clock = std::chrono::steady_clock;

// The drop of a candidate on the evaluation data, in points: float top-1 minus the candidate's with labels, else
// the share of samples whose top-1 class differs from the float model's. The float model runs once.
class DropMeter {
public:
    static Result<DropMeter> create(const QuantizeOptions& options, const GlobalOptions& global,
                                    const SessionOptions& session, const Model& float_model) {
        DropMeter meter(session);
        ModelRunner runner(float_model, session, "'" + options.model + "'");
        PARE_ASSIGN_OR_RETURN(meter.dataset_, open_dataset(options.eval_data, runner.input_names(),
                                                           options.data_options, options.limit, global));
        if (meter.dataset_->samples() == 0) return invalid_input("data '" + options.eval_data + "' holds no samples");
        PARE_ASSIGN_OR_RETURN(meter.labels_, dataset_labels(*meter.dataset_, options.labels));
        meter.batch_ = runner.fixed_batch() ? runner.fixed_batch() : options.batch;
        PARE_ASSIGN_OR_RETURN(meter.reference_, meter.predictions(runner, "'" + options.model + "'"));
        return meter;
    }

    Result<double> drop(const Model& candidate) {
        ModelRunner runner(candidate, session_, "budget candidate");
        PARE_ASSIGN_OR_RETURN(const std::vector<int64_t> mine, predictions(runner, "budget candidate"));
        int64_t reference_hits = 0, hits = 0;
        for (size_t i = 0; i < mine.size(); ++i) {
            if (labels_.empty()) {
                hits += mine[i] == reference_[i];
                ++reference_hits;
            } else {
                hits += mine[i] == labels_[i];
                reference_hits += reference_[i] == labels_[i];
            }
        }
        const double samples = static_cast<double>(mine.size());
        // Computed as the report computes top-1 drops: the difference of the two accuracies, in points.
        return (static_cast<double>(reference_hits) / samples - static_cast<double>(hits) / samples) * 100.0;
    }

    Dataset& dataset() { return *dataset_; }
    int64_t batch() const { return batch_; }
    bool labelled() const { return !labels_.empty(); }

private:
    explicit DropMeter(const SessionOptions& session) : session_(session) {}

    Result<std::vector<int64_t>> predictions(ModelRunner& runner, const std::string& what) {
        std::vector<int64_t> classes;
        PARE_RETURN_IF_ERROR(dataset_->for_each_batch(batch_, [&](int64_t, const std::vector<Tensor>& batch) -> Status {
            PARE_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, runner.run(batch));
            PARE_ASSIGN_OR_RETURN(ScoreRows scores,
                                  score_rows(outputs[0], "output 0 of " + what + " (--max-drop needs class scores)"));
            const std::vector<int64_t> best = argmax_rows(scores);
            classes.insert(classes.end(), best.begin(), best.end());
            return Status();
        }));
        return classes;
    }

    SessionOptions session_;
    std::optional<Dataset> dataset_;
    std::vector<int64_t> labels_;
    std::vector<int64_t> reference_;
    int64_t batch_ = 0;
};

// Layers in order of damage: lowest local SQNR (the layer alone quantized, on the float model's own inputs) first;
// layers whose error could not be measured last, in graph order.
Result<std::vector<std::pair<std::string, std::optional<double>>>> rank_layers(const Model& float_model,
                                                                               const Requantized& start,
                                                                               DropMeter& meter,
                                                                               const SessionOptions& session) {
    const LocalErrorGraph graph = build_local_error_graph(float_model, start.model, start.layers);
    PARE_ASSIGN_OR_RETURN(const LayerErrors errors,
                          measure_local_errors(graph, meter.dataset(), meter.batch(), session));
    std::map<std::string, std::optional<double>> sqnr;
    for (size_t i = 0; i < graph.probes.size(); ++i) {
        // An exact layer has no finite SQNR: it can lose nothing.
        const auto db = errors.local[i].sqnr_db();
        sqnr[graph.probes[i].layer] = db ? *db : std::numeric_limits<double>::infinity();
    }
    std::vector<std::pair<std::string, std::optional<double>>> ranked;
    for (const auto& layer : start.layers) {
        auto it = sqnr.find(layer.node);
        ranked.emplace_back(layer.node, it == sqnr.end() ? std::nullopt : it->second);
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
        return std::make_pair(!a.second, a.second.value_or(0.0)) < std::make_pair(!b.second, b.second.value_or(0.0));
    });
    return ranked;
}

template <typename T>
nlohmann::ordered_json gate_json(T limit, T achieved, T slack) {
    return {{"limit", limit},
            {"achieved", achieved},
            {"met", achieved <= limit + slack},
            {"gap", std::max(T(0), achieved - limit)}};
}

nlohmann::ordered_json number_or_null(std::optional<double> value) {
    if (!value || !std::isfinite(*value)) return nullptr;
    return *value;
}

}  // namespace

bool budget_requested(const QuantizeOptions& options) {
    return options.max_drop >= 0 || options.max_size > 0 || options.time_budget > 0;
}

Status check_budget_options(const QuantizeOptions& options) {
    const bool budget = budget_requested(options);
    if (!budget && options.emit_exclusions.empty()) return Status();
    if (budget && options.eval_data.empty()) {
        return usage_error("--max-drop, --max-size and --time-budget need --eval-data (the budget is measured there)");
    }
    if (options.time_budget > 0 && options.max_drop < 0 && options.max_size <= 0) {
        return usage_error("--time-budget bounds the search of --max-drop or --max-size: give one of them");
    }
    // The weight-only schemes check their own --format (qdq, the default, or int4's matmulnbits).
    if (is_weight_only_scheme(options.scheme)) return Status();
    if (options.scheme != "int8" && options.scheme != "int16") {
        return usage_error(
            "--max-drop, --max-size, --time-budget and --emit-exclusions need --scheme int8, int16, int4, log, "
            "codebook, binary or ternary");
    }
    if (options.format != "qdq") {
        return usage_error("--max-drop, --max-size, --time-budget and --emit-exclusions need --format qdq");
    }
    return Status();
}

Result<BudgetOutcome> run_accuracy_budget(const QuantizeOptions& options, const GlobalOptions& global,
                                          const SessionOptions& session, const Model& float_model,
                                          const SchemeOutcome& scheme, const Requantized& start) {
    const auto started = Clock::now();
    PARE_ASSIGN_OR_RETURN(DropMeter meter, DropMeter::create(options, global, session, float_model));
    PARE_ASSIGN_OR_RETURN(const auto ranking, rank_layers(float_model, start, meter, session));
    std::vector<std::string> ranked;
    for (const auto& entry : ranking) ranked.push_back(entry.first);

    // The last candidate built, for the drop measurement that follows its size.
    RungAssignment built_for;
    std::optional<Requantized> built;
    int64_t built_bytes = 0;
    auto build = [&](const RungAssignment& rungs) -> Status {
        if (built && built_for == rungs) return Status();
        if (rungs.empty()) {
            built = start;
        } else {
            PARE_ASSIGN_OR_RETURN(Requantized candidate, scheme.requantize(rungs));
            built = std::move(candidate);
        }
        built_for = rungs;
        PARE_ASSIGN_OR_RETURN(const std::string bytes, serialize_model(built->model));
        built_bytes = static_cast<int64_t>(bytes.size());
        return Status();
    };
    const CandidateSize size = [&](const RungAssignment& rungs) -> Result<int64_t> {
        PARE_RETURN_IF_ERROR(build(rungs));
        return built_bytes;
    };
    const CandidateDrop drop = [&](const RungAssignment& rungs) -> Result<double> {
        PARE_RETURN_IF_ERROR(build(rungs));
        return meter.drop(built->model);
    };
    const auto search_started = Clock::now();
    auto out_of_time = [&]() {
        return options.time_budget > 0 &&
               std::chrono::duration<double>(Clock::now() - search_started).count() > options.time_budget;
    };
    BudgetLimits limits;
    if (options.max_drop >= 0) limits.max_drop = options.max_drop;
    if (options.max_size > 0) limits.max_size = options.max_size;
    PARE_ASSIGN_OR_RETURN(const BudgetSearchResult result, search_budget(ranked, static_cast<int>(scheme.rungs.size()),
                                                                         limits, size, drop, out_of_time));

    BudgetOutcome outcome;
    PARE_RETURN_IF_ERROR(build(result.best));
    outcome.best = std::move(*built);
    const int float_rung = static_cast<int>(scheme.rungs.size()) - 1;
    for (const Node& node : float_model.graph.nodes) {
        auto it = result.best.find(node.name());
        if (it != result.best.end() && it->second == float_rung) outcome.float_layers.push_back(node.name());
    }
    outcome.met = result.met;

    auto& json = outcome.json;
    json["met"] = result.met;
    json["drop_metric"] = meter.labelled() ? "top1_drop_points" : "disagreement_points";
    // Drops are whole samples over the sample count: the slack absorbs their floating-point rounding.
    if (limits.max_drop) json["max_drop"] = gate_json(*limits.max_drop, result.best_drop, 1e-9);
    if (limits.max_size) json["max_size"] = gate_json(*limits.max_size, result.best_bytes, int64_t(0));
    json["achieved"] = {{"drop_points", result.best_drop}, {"bytes", result.best_bytes}};
    // The report's generic gate list (DESIGN.md) carries the same verdicts.
    outcome.gates = nlohmann::ordered_json::array();
    for (const char* gate : {"max_drop", "max_size"}) {
        if (!json.contains(gate)) continue;
        outcome.gates.push_back({{"name", gate},
                                 {"limit", json[gate]["limit"]},
                                 {"value", json[gate]["achieved"]},
                                 {"passed", json[gate]["met"]}});
    }
    if (options.time_budget > 0) {
        json["time_budget"] = {{"limit_s", options.time_budget},
                               {"used_s", std::chrono::duration<double>(Clock::now() - search_started).count()},
                               {"exhausted", result.out_of_time}};
    }
    json["rungs"] = scheme.rungs;
    nlohmann::ordered_json ranking_json = nlohmann::ordered_json::array();
    for (const auto& [layer, db] : ranking)
        ranking_json.push_back({{"layer", layer}, {"local_sqnr_db", number_or_null(db)}});
    json["ranking"] = ranking_json;
    nlohmann::ordered_json decisions = nlohmann::ordered_json::array();
    for (const BudgetStep& step : result.steps) {
        std::vector<std::string> from;
        for (const int rung : step.from) from.push_back(scheme.rungs[static_cast<size_t>(rung)]);
        decisions.push_back({{"layers", step.layers},
                             {"from", from},
                             {"to", scheme.rungs[static_cast<size_t>(step.to)]},
                             {"drop_points", number_or_null(step.drop)},
                             {"bytes", step.bytes},
                             {"met", step.met},
                             {"outcome", step.outcome}});
    }
    json["decisions"] = decisions;
    nlohmann::ordered_json fallbacks = nlohmann::ordered_json::array();
    for (const auto& [layer, rung] : result.best) {
        fallbacks.push_back({{"layer", layer}, {"to", scheme.rungs[static_cast<size_t>(rung)]}});
    }
    json["fallbacks"] = fallbacks;
    // Every layer the scheme quantizes, in graph order, at the precision it has in the written model.
    nlohmann::ordered_json precisions = nlohmann::ordered_json::array();
    for (const auto& layer : start.layers) {
        auto it = result.best.find(layer.node);
        const size_t rung = it == result.best.end() ? 0 : static_cast<size_t>(it->second);
        precisions.push_back({{"layer", layer.node}, {"precision", scheme.rungs[rung]}});
    }
    json["layer_precisions"] = precisions;
    json["evaluations"] = result.evaluations;
    json["search_s"] = std::chrono::duration<double>(Clock::now() - started).count();

    if (!result.met) {
        std::vector<std::string> gaps;
        if (limits.max_drop && !json["max_drop"]["met"].get<bool>()) {
            gaps.push_back("drop " + format_number("%.4g", result.best_drop) + " points > --max-drop " +
                           format_number("%.4g", *limits.max_drop) + " (gap " +
                           format_number("%.4g", json["max_drop"]["gap"].get<double>()) + ")");
        }
        if (limits.max_size && result.best_bytes > *limits.max_size) {
            gaps.push_back(with_commas(result.best_bytes) + " bytes > --max-size " + with_commas(*limits.max_size) +
                           " (gap " + with_commas(result.best_bytes - *limits.max_size) + ")");
        }
        if (result.out_of_time) gaps.push_back("--time-budget ran out");
        std::string failure = "accuracy budget not met:";
        for (size_t i = 0; i < gaps.size(); ++i) failure += (i ? "; " : " ") + gaps[i];
        outcome.failure = failure + "; the best model found was written to '" + options.output + "'";
    }
    return outcome;
}

Status emit_exclusions(const QuantizeOptions& options, const Graph& float_graph, const BudgetOutcome* budget) {
    if (options.emit_exclusions.empty()) return Status();
    PARE_ASSIGN_OR_RETURN(const std::set<std::string> asked, excluded_nodes(float_graph, options.exclude));
    std::vector<std::string> excluded;
    for (const Node& node : float_graph.nodes) {
        const bool fallback =
            budget && std::count(budget->float_layers.begin(), budget->float_layers.end(), node.name());
        if (fallback || asked.count(node.name())) excluded.push_back(node.name());
    }
    return write_file_atomic(options.emit_exclusions, nlohmann::ordered_json(excluded).dump(2) + "\n");
}

void report_budget(const BudgetOutcome& budget, Report& report) {
    report.json()["budget"] = budget.json;
    report.json()["gates"] = budget.gates;
    if (!budget.met) report.set_status("gate_failed");
}

Status budget_status(const BudgetOutcome* budget) {
    if (budget && !budget->met) return Status(ErrorCode::kGateFailed, budget->failure);
    return Status();
}

void print_budget_summary(const nlohmann::ordered_json& report, std::ostream& out) {
    if (!report.contains("budget")) return;
    const auto& budget = report["budget"];
    out << "budget: " << (budget["met"].get<bool>() ? "met" : "NOT met");
    if (budget.contains("max_drop")) {
        out << ", drop " << format_number("%.2f", budget["max_drop"]["achieved"].get<double>() + 0.0)
            << " points (limit " << format_number("%.4g", budget["max_drop"]["limit"].get<double>()) << ")";
    }
    if (budget.contains("max_size")) {
        out << ", " << with_commas(budget["max_size"]["achieved"].get<int64_t>()) << " bytes (limit "
            << with_commas(budget["max_size"]["limit"].get<int64_t>()) << ")";
    }
    out << "; " << budget["evaluations"] << " evaluations\n";
    for (const auto& fallback : budget["fallbacks"]) {
        out << "  fallback: " << fallback["layer"].get<std::string>() << " -> " << fallback["to"].get<std::string>()
            << "\n";
    }
}

}  // namespace pare

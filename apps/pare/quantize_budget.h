// The accuracy budget of pare quantize (--max-drop, --max-size, --time-budget): rank the layers by their local error
// on the evaluation data, move the most damaging ones up the scheme's precision ladder (quantize/budget_search.h),
// re-measuring the model as it would be written after each step, and keep the best model found.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "exec/session.h"
#include "report/report.h"
#include "quantize_schemes.h"

namespace pare {

/// True when any of --max-drop, --max-size, --time-budget is given.
bool budget_requested(const QuantizeOptions& options);

/// Usage errors of the budget flags and --emit-exclusions, checked before any work: they need --eval-data (the
/// budget) and a scheme with a precision ladder: int8 or int16 in the QDQ format, or a weight-only scheme (int4,
/// log, codebook, binary, ternary).
Status check_budget_options(const QuantizeOptions& options);

/// The best model the search found, and the report's budget section.
struct BudgetOutcome {
    Requantized best;
    std::vector<std::string> float_layers;  // layers fallen back to float, in graph order
    nlohmann::ordered_json json;            // the report's budget section
    nlohmann::ordered_json gates;           // its gates section
    bool met = true;
    std::string failure;  // why the budget was not met, one line
};

/// Runs the search from the scheme's model `start` (every layer at rung 0), `float_model` being what it was
/// rewritten from (same opsets and value names).
Result<BudgetOutcome> run_accuracy_budget(const QuantizeOptions& options, const GlobalOptions& global,
                                          const SessionOptions& session, const Model& float_model,
                                          const SchemeOutcome& scheme, const Requantized& start);

/// With --emit-exclusions, writes the layers the written model leaves in float, in graph order: what --exclude named
/// and the budget's fallbacks to float (`budget` null without a budget), as a JSON array of node names, the form of
/// ONNX Runtime's quantize_static nodes_to_exclude. Nothing without the flag.
Status emit_exclusions(const QuantizeOptions& options, const Graph& float_graph, const BudgetOutcome* budget);

/// Puts the budget's sections into the report (`budget`, `gates`; status gate_failed when missed).
void report_budget(const BudgetOutcome& budget, Report& report);

/// The command's status after its report is out: kGateFailed (exit 5) with the gap when the budget was missed.
Status budget_status(const BudgetOutcome* budget);

/// One or two summary lines for the report's budget section, if it has one.
void print_budget_summary(const nlohmann::ordered_json& report, std::ostream& out);

}  // namespace pare

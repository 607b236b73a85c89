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
#include "quantize_schemes.h"

namespace pare {

/// True when any of --max-drop, --max-size, --time-budget is given.
bool budget_requested(const QuantizeOptions& options);

/// Usage errors of the budget flags and --emit-exclusions, checked before any work: they need --eval-data (the
/// budget) and a static scheme (int8, int16) in the QDQ format.
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

/// Runs the search from the scheme's model `quantized` (every layer at rung 0), `float_model` being what it was
/// rewritten from.
Result<BudgetOutcome> run_accuracy_budget(const QuantizeOptions& options, const GlobalOptions& global,
                                          const SessionOptions& session, const Model& float_model,
                                          const SchemeOutcome& scheme, const Model& quantized);

/// Writes the --emit-exclusions file: a JSON array of node names, the form of ONNX Runtime's quantize_static
/// nodes_to_exclude.
Status write_exclusions(const std::string& path, const std::vector<std::string>& nodes);

/// One or two summary lines for the report's budget section, if it has one.
void print_budget_summary(const nlohmann::ordered_json& report, std::ostream& out);

}  // namespace pare

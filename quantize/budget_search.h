// The accuracy-budget search of pare quantize: starting from every layer at the scheme's precision (rung 0), layers
// climb a ladder of higher precisions (for int8: 16-bit activations, then float), most sensitive first, until the
// measured model meets the budget. The search knows nothing of models: the caller builds and measures candidates.
//
// Within a rung the layers move in growing groups (1, 2, 4, ... in sensitivity order), each group kept when the
// model still misses the budget; the first group that meets it is bisected back to its shortest prefix that does.
// That costs O(log n) evaluations per rung instead of n, and still moves the most sensitive layer alone first. The
// bisection assumes that moving more layers up never hurts; the best model is chosen over every measured candidate,
// so a non-monotone step cannot make the result worse than one that was seen.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace pare {

/// Rung of each layer that is above rung 0 (node name -> rung index).
using RungAssignment = std::map<std::string, int>;

struct BudgetLimits {
    std::optional<double> max_drop;   // points
    std::optional<int64_t> max_size;  // bytes
};

/// One measured (or size-refused) candidate, in the order the search made them.
struct BudgetStep {
    std::vector<std::string> layers;  // moved from the kept model (empty: the starting model)
    std::vector<int> from;            // each layer's rung before the step (a layer refused a rung may skip it)
    int to = 0;
    int64_t bytes = 0;
    std::optional<double> drop;  // unset when the size alone refused the step (not evaluated)
    bool met = false;
    /// "start", "kept" (missed the budget; the search goes on from it), "met", "bisect" (a shorter prefix of the
    /// group that met the budget, measured), "over_size" (would exceed --max-size: not taken).
    std::string outcome;
};

struct BudgetSearchResult {
    RungAssignment best;
    int64_t best_bytes = 0;
    double best_drop = 0;
    bool met = false;
    bool out_of_time = false;
    int evaluations = 0;
    std::vector<BudgetStep> steps;
};

/// Size in bytes of the candidate with these rungs (cheap: build and serialize).
using CandidateSize = std::function<Result<int64_t>(const RungAssignment&)>;
/// Measured drop in points of the candidate with these rungs (one pass over the evaluation data).
using CandidateDrop = std::function<Result<double>(const RungAssignment&)>;

/// Searches over `ranked` (most sensitive first) and `rungs` rungs (rung 0 is the start, rungs - 1 the highest).
/// `out_of_time` is asked before each evaluation after the first; when it says so the search stops with the best
/// model so far. Deterministic when the callbacks are.
Result<BudgetSearchResult> search_budget(const std::vector<std::string>& ranked, int rungs, const BudgetLimits& limits,
                                         const CandidateSize& size, const CandidateDrop& drop,
                                         const std::function<bool()>& out_of_time);

}  // namespace pare

#include "quantize/budget_search.h"

#include <algorithm>

namespace pare {

namespace {

// Drops are whole samples over a sample count: allow for their floating-point rounding.
constexpr double kDropSlack = 1e-9;

class Search {
public:
    Search(const std::vector<std::string>& ranked, int rungs, const BudgetLimits& limits, const CandidateSize& size,
           const CandidateDrop& drop, const std::function<bool()>& out_of_time)
        : ranked_(ranked), rungs_(rungs), limits_(limits), size_(size), drop_(drop), out_of_time_(out_of_time) {}

    Result<BudgetSearchResult> run() {
        PARE_ASSIGN_OR_RETURN(const bool met_at_start, measure(current_, {}, 0, "start"));
        // A size limit alone is not searched: moving layers up grows all but the smallest models.
        if (met_at_start || !limits_.max_drop) return result_;
        for (int rung = 1; rung < rungs_; ++rung) {
            size_t position = 0, group = 1;
            while (position < ranked_.size()) {
                if (out_of_time_()) {
                    result_.out_of_time = true;
                    return result_;
                }
                const size_t count = std::min(group, ranked_.size() - position);
                const std::vector<std::string> layers(ranked_.begin() + position, ranked_.begin() + position + count);
                RungAssignment trial = raised(layers, rung);
                PARE_ASSIGN_OR_RETURN(const int64_t bytes, size_(trial));
                if (limits_.max_size && bytes > *limits_.max_size) {
                    // Not taken; a smaller group may still fit, a single layer that does not is passed over.
                    result_.steps.push_back({layers, rungs_of(layers), rung, bytes, std::nullopt, false, "over_size"});
                    if (count == 1) ++position;
                    group = std::max<size_t>(1, count / 2);
                    continue;
                }
                PARE_ASSIGN_OR_RETURN(const bool met, measure(trial, layers, rung, "kept"));
                if (met) {
                    result_.steps.back().outcome = "met";
                    PARE_RETURN_IF_ERROR(bisect(layers, rung));
                    return result_;
                }
                current_ = std::move(trial);
                position += count;
                group *= 2;
            }
        }
        return result_;
    }

private:
    RungAssignment raised(const std::vector<std::string>& layers, int rung) const {
        RungAssignment trial = current_;
        for (const auto& layer : layers) trial[layer] = rung;
        return trial;
    }

    // The shortest prefix of `layers` (which met the budget as a whole) that meets it too.
    Status bisect(const std::vector<std::string>& layers, int rung) {
        size_t missed = 0, met = layers.size();
        while (met - missed > 1) {
            if (out_of_time_()) {
                result_.out_of_time = true;
                return Status();
            }
            const size_t middle = (missed + met) / 2;
            const std::vector<std::string> prefix(layers.begin(), layers.begin() + middle);
            const RungAssignment trial = raised(prefix, rung);
            PARE_ASSIGN_OR_RETURN(const bool prefix_met, measure(trial, prefix, rung, "bisect"));
            (prefix_met ? met : missed) = middle;
        }
        return Status();
    }

    bool within(double drop, int64_t bytes) const {
        return (!limits_.max_drop || drop <= *limits_.max_drop + kDropSlack) &&
               (!limits_.max_size || bytes <= *limits_.max_size);
    }

    // Best: meets the budget with the fewest bytes (then the smaller drop); else, among the models within the size
    // limit, the smallest drop (then fewer bytes); else the fewest bytes. Earlier wins ties.
    bool better(double drop, int64_t bytes, bool met) const {
        if (result_.steps.size() == 1) return true;
        const double best_drop = result_.best_drop;
        const int64_t best_bytes = result_.best_bytes;
        if (met != result_.met) return met;
        if (met) return bytes < best_bytes || (bytes == best_bytes && drop < best_drop);
        const bool fits = !limits_.max_size || bytes <= *limits_.max_size;
        const bool best_fits = !limits_.max_size || best_bytes <= *limits_.max_size;
        if (fits != best_fits) return fits;
        if (!fits) return bytes < best_bytes;
        return drop < best_drop || (drop == best_drop && bytes < best_bytes);
    }

    std::vector<int> rungs_of(const std::vector<std::string>& layers) const {
        std::vector<int> rungs;
        for (const auto& layer : layers) {
            auto it = current_.find(layer);
            rungs.push_back(it == current_.end() ? 0 : it->second);
        }
        return rungs;
    }

    Result<bool> measure(const RungAssignment& trial, const std::vector<std::string>& layers, int to,
                         const std::string& outcome) {
        PARE_ASSIGN_OR_RETURN(const int64_t bytes, size_(trial));
        PARE_ASSIGN_OR_RETURN(const double drop, drop_(trial));
        ++result_.evaluations;
        const bool met = within(drop, bytes);
        result_.steps.push_back({layers, rungs_of(layers), to, bytes, drop, met, outcome});
        if (better(drop, bytes, met)) {
            result_.best = trial;
            result_.best_bytes = bytes;
            result_.best_drop = drop;
            result_.met = met;
        }
        return met;
    }

    const std::vector<std::string>& ranked_;
    const int rungs_;
    const BudgetLimits& limits_;
    const CandidateSize& size_;
    const CandidateDrop& drop_;
    const std::function<bool()>& out_of_time_;
    RungAssignment current_;
    BudgetSearchResult result_;
};

}  // namespace

Result<BudgetSearchResult> search_budget(const std::vector<std::string>& ranked, int rungs, const BudgetLimits& limits,
                                         const CandidateSize& size, const CandidateDrop& drop,
                                         const std::function<bool()>& out_of_time) {
    if (rungs < 1) return invalid_input("the budget search needs at least one precision");
    Search search(ranked, rungs, limits, size, drop, out_of_time);
    return search.run();
}

}  // namespace pare

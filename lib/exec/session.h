// Session: a graph compiled for one backend and one set of input shapes. Kernels run in topological order;
// intermediate buffers share one arena by liveness; observers see named values as they are computed.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "ops/registry.h"

namespace pare {

struct SessionOptions {
    Backend backend = Backend::kCpu;
    int threads = 0;                 // 0: leave OpenMP's default
    bool reuse_buffers = true;       // share one arena between values whose lifetimes do not overlap
    bool optimize = true;            // graph passes: BatchNormalization folding, activation fusion, QDQ to int8
    bool reference_only = false;     // run every node on its reference kernel (the oracle in tests)
    std::set<std::string> observed;  // values observers will see (passes never fuse them away)
    bool observe_all = false;        // every value is observed
    // Observers may see a 4-D value the engine keeps channels-last as its [N, H, W, C] form, under its own name,
    // instead of paying a transpose back: for statistics that do not depend on where an element sits.
    bool observe_any_layout = false;
    bool profile = false;  // time every step of every run (see Session::profile)
};

/// Called after a value is computed. The tensor may be a view of reused memory: copy what you keep.
using Observer = std::function<void(const std::string& name, const Tensor& value)>;

class Session {
public:
    /// Compiles the model's main graph. `input_shapes` binds graph inputs (all dims must be known then);
    /// unbound inputs use their declared shape, which must be fully static.
    static Result<std::unique_ptr<Session>> create(const Model& model, const std::map<std::string, Shape>& input_shapes,
                                                   const SessionOptions& options = {});

    /// Compiles a graph whose inputs are `input_names` (formal inputs, then outer-scope values) with these types.
    static Result<std::unique_ptr<Session>> create_for_graph(const Graph& graph,
                                                             const std::map<std::string, int64_t>& opsets,
                                                             const std::vector<std::string>& input_names,
                                                             const std::vector<InputInfo>& input_types,
                                                             const SessionOptions& options);
    ~Session();

    const std::vector<std::string>& input_names() const { return input_names_; }
    const std::vector<std::string>& output_names() const { return output_names_; }
    /// Declared types of the inputs as compiled.
    const std::vector<InputInfo>& input_types() const { return input_types_; }

    /// Runs once. Inputs in input_names() order; each must match the compiled dtype and shape.
    Result<std::vector<Tensor>> run(const std::vector<Tensor>& inputs);
    void set_observer(Observer observer) { observer_ = std::move(observer); }

    /// Node description and the kernel implementation that runs it, in run order (for --verbose and tests).
    std::vector<std::pair<std::string, std::string>> kernel_choices() const;
    /// With SessionOptions::profile: per step in run order, the node description, its kernel implementation and the
    /// total milliseconds spent in it over every run so far.
    struct StepTime {
        std::string node;
        std::string implementation;
        double total_ms = 0.0;
    };
    std::vector<StepTime> profile() const;
    /// Bytes of the shared intermediate arena.
    size_t arena_bytes() const { return arena_ ? arena_->bytes() : 0; }

private:
    struct Slot;
    struct Step;
    Session();
    Status compile(const std::vector<std::string>& input_names, const std::vector<InputInfo>& input_types);
    Status compile_node(const Node& node);
    Status fold_step(Step& step);
    void plan_memory();
    Status prepare_at_run_time(Step& step, const std::vector<Tensor>& inputs, std::vector<OutputInfo>& outputs);
    int slot_of(const std::string& name) const;

    SessionOptions options_;
    std::map<std::string, int64_t> opsets_;
    Graph graph_;  // the compiled copy, after passes
    std::vector<std::string> input_names_;
    std::vector<InputInfo> input_types_;
    std::vector<std::string> output_names_;
    std::vector<Slot> slots_;
    std::map<std::string, int> slot_index_;
    std::map<std::string, std::string> observed_nhwc_;  // observed NCHW name -> the NHWC value observers see instead
    std::vector<Step> steps_;
    std::shared_ptr<Buffer> arena_;
    Observer observer_;
};

/// Every node (subgraphs included) whose op no kernel implements on this backend, as "Op 'name'" strings.
std::vector<std::string> find_unsupported_nodes(const Model& model, Backend backend = Backend::kCpu);

}  // namespace pare

#include "exec/session.h"

#include <omp.h>

#include <algorithm>
#include <chrono>

#include "core/log.h"
#include "exec/memory_plan.h"
#include "exec/subgraph_runner.h"
#include "graph/fused_ops.h"
#include "graph/passes.h"

namespace pare {

struct Session::Slot {
    std::string name;
    DType dtype = DType::kUndefined;
    Shape shape;
    bool shape_known = false;
    bool is_constant = false;
    bool is_input = false;
    bool is_output = false;
    bool observed = false;
    std::string observed_as;  // the name observers see it under: its own, or the NCHW value it holds NHWC
    Tensor constant;
    int alias_root = -1;  // slot whose memory this value views
    int first_step = -1;
    int last_step = -1;
    int64_t arena_offset = -1;  // >= 0: a view of the arena
};

struct Session::Step {
    const Node* node = nullptr;
    KernelPtr kernel;
    std::string implementation;
    std::vector<int> inputs;   // slot per input, -1 when omitted
    std::vector<int> outputs;  // slot per output, -1 when omitted
    bool dynamic = false;      // prepared again at run time with every input value
    double total_ms = 0.0;     // time spent running, with SessionOptions::profile
    std::vector<OutputInfo> output_types;
};

Session::Session() = default;
Session::~Session() = default;

namespace {

// Ops whose results must not be computed at compile time.
bool never_fold(const Node& node) {
    const std::string& op = node.op_type();
    return op.rfind("Random", 0) == 0 || op == "Multinomial" || op == "Bernoulli";
}

std::map<std::string, int64_t> model_opsets(const Model& model) {
    std::map<std::string, int64_t> opsets;
    for (const auto& entry : model.header.opset_import()) {
        opsets[entry.domain() == "ai.onnx" ? "" : entry.domain()] = entry.version();
    }
    return opsets;
}

}  // namespace

Result<std::unique_ptr<Session>> Session::create(const Model& model, const std::map<std::string, Shape>& input_shapes,
                                                 const SessionOptions& options) {
    const Graph& graph = model.graph;
    std::vector<std::string> names = graph.input_names();
    std::vector<InputInfo> types;
    for (const auto& name : names) {
        const ValueType declared = value_type_from_proto(*graph.find_value_info(name));
        InputInfo info;
        info.dtype = declared.dtype;
        auto bound = input_shapes.find(name);
        if (bound != input_shapes.end()) {
            if (declared.has_shape && declared.shape.size() != bound->second.size()) {
                return invalid_input("input '" + name + "' has rank " + std::to_string(declared.shape.size()) +
                                     " in the model but shape " + shape_to_string(bound->second) + " was given");
            }
            for (size_t i = 0; declared.has_shape && i < declared.shape.size(); ++i) {
                if (declared.shape[i] >= 0 && declared.shape[i] != bound->second[i]) {
                    return invalid_input("input '" + name + "' has shape " + shape_to_string(declared.shape) +
                                         " in the model but " + shape_to_string(bound->second) + " was given");
                }
            }
            info.shape = bound->second;
        } else {
            if (!declared.has_shape || shape_numel(declared.shape) < 0) {
                return invalid_input("input '" + name + "' has dynamic shape " + shape_to_string(declared.shape) +
                                     "; give its shape");
            }
            info.shape = declared.shape;
        }
        if (!dtype_is_supported(info.dtype)) {
            return unsupported("input '" + name + "' has dtype " + dtype_name(info.dtype));
        }
        types.push_back(info);
    }
    return create_for_graph(graph, model_opsets(model), names, types, options);
}

Result<std::unique_ptr<Session>> Session::create_for_graph(const Graph& graph,
                                                           const std::map<std::string, int64_t>& opsets,
                                                           const std::vector<std::string>& input_names,
                                                           const std::vector<InputInfo>& input_types,
                                                           const SessionOptions& options) {
    std::unique_ptr<Session> session(new Session());
    session->options_ = options;
    session->opsets_ = opsets;
    session->graph_ = graph;
    if (options.threads > 0) omp_set_num_threads(options.threads);
    if (options.optimize && !options.reference_only) {
        std::set<std::string> keep = options.observed;
        for (const auto& name : graph.output_names()) keep.insert(name);
        LayoutFreeValues layout_free;
        if (options.observe_any_layout) layout_free.names = options.observed;
        optimize_graph(session->graph_, keep, options.observe_all, &layout_free);
        session->observed_nhwc_ = std::move(layout_free.nhwc_names);
    }
    // pare's private ops extend ai.onnx ops and follow the model's ai.onnx opset.
    if (session->opsets_.count("")) session->opsets_[kPareDomain] = session->opsets_[""];
    PARE_RETURN_IF_ERROR(session->compile(input_names, input_types));
    return session;
}

int Session::slot_of(const std::string& name) const {
    auto it = slot_index_.find(name);
    return it == slot_index_.end() ? -1 : it->second;
}

Status Session::compile(const std::vector<std::string>& input_names, const std::vector<InputInfo>& input_types) {
    input_names_ = input_names;
    input_types_ = input_types;
    auto add_slot = [&](const std::string& name) {
        slot_index_[name] = static_cast<int>(slots_.size());
        slots_.push_back(Slot{});
        slots_.back().name = name;
        slots_.back().observed = options_.observe_all || options_.observed.count(name);
        slots_.back().observed_as = name;
        return static_cast<int>(slots_.size()) - 1;
    };
    for (const auto& init : graph_.initializers) {
        if (!init.value.defined()) return unsupported("initializer '" + init.name() + "' has a dtype pare cannot read");
        const int s = add_slot(init.name());
        slots_[s].is_constant = true;
        slots_[s].constant = init.value;
        slots_[s].dtype = init.value.dtype();
        slots_[s].shape = init.value.shape();
        slots_[s].shape_known = true;
    }
    for (size_t i = 0; i < input_names.size(); ++i) {
        const int s = slot_of(input_names[i]) >= 0 ? slot_of(input_names[i]) : add_slot(input_names[i]);
        Slot& slot = slots_[s];
        // An input that also has an initializer is overridable: the fed value wins.
        slot.is_constant = false;
        slot.constant = Tensor();
        slot.is_input = true;
        slot.dtype = input_types[i].dtype;
        slot.shape = input_types[i].shape;
        slot.shape_known = shape_numel(slot.shape) >= 0;
    }
    PARE_ASSIGN_OR_RETURN(std::vector<int> order,
                          graph_.topological_order(std::set<std::string>(input_names.begin(), input_names.end())));
    for (int index : order) {
        const Node& node = graph_.nodes[index];
        for (const auto& output : node.proto.output()) {
            if (!output.empty() && slot_of(output) < 0) add_slot(output);
        }
        PARE_RETURN_IF_ERROR(compile_node(node));
    }
    output_names_ = graph_.output_names();
    for (const auto& name : output_names_) {
        const int s = slot_of(name);
        if (s < 0) return invalid_input("graph output '" + name + "' is never computed");
        slots_[s].is_output = true;
    }
    for (const auto& [name, nhwc] : observed_nhwc_) {
        const int s = slot_of(nhwc);
        slots_[s].observed = true;
        slots_[s].observed_as = name;
    }
    plan_memory();
    return Status();
}

Status Session::compile_node(const Node& node) {
    Step step;
    step.node = &node;
    for (const auto& input : node.proto.input()) {
        const int s = input.empty() ? -1 : slot_of(input);
        if (!input.empty() && s < 0)
            return invalid_input(node.describe() + " reads '" + input + "', which is not defined");
        step.inputs.push_back(s);
    }
    KernelContext context{node, opsets_[node.is_onnx_domain() ? "" : node.domain()], graph_, {}, {}, options_.threads};
    for (const auto& [attr, body] : node.subgraphs) {
        for (const auto& name : body->outer_scope_reads()) {
            if (std::find(context.implicit_inputs.begin(), context.implicit_inputs.end(), name) ==
                context.implicit_inputs.end()) {
                context.implicit_inputs.push_back(name);
            }
        }
    }
    for (const auto& name : context.implicit_inputs) {
        const int s = slot_of(name);
        if (s < 0)
            return invalid_input("a subgraph of " + node.describe() + " reads '" + name + "', which is not defined");
        step.inputs.push_back(s);
    }
    const SessionOptions child_options = [&] {
        SessionOptions o = options_;
        o.observed.clear();
        o.observe_all = false;
        return o;
    }();
    const auto opsets = opsets_;
    context.compile_subgraph = [opsets, child_options](const Graph& body) -> Result<std::unique_ptr<SubgraphRunner>> {
        return make_subgraph_runner(body, opsets, child_options);
    };
    PARE_ASSIGN_OR_RETURN(KernelChoice choice, choose_kernel(context, options_.backend, options_.reference_only));
    step.kernel = std::move(choice.kernel);
    step.implementation = choice.implementation;
    for (const auto& reason : choice.declined) log_verbose(node.describe() + ": " + reason);
    for (const auto& output : node.proto.output()) step.outputs.push_back(output.empty() ? -1 : slot_of(output));

    std::vector<InputInfo> infos;
    bool all_known = true, all_constant = true;
    for (int s : step.inputs) {
        InputInfo info;
        if (s < 0) {
            info.present = false;
        } else {
            const Slot& slot = slots_[s];
            info.dtype = slot.dtype;
            info.shape = slot.shape;
            if (slot.is_constant) info.value = slot.constant;
            all_known = all_known && slot.shape_known;
            all_constant = all_constant && slot.is_constant;
        }
        infos.push_back(std::move(info));
    }
    if (all_known) {
        PARE_RETURN_IF_ERROR(step.kernel->prepare(infos, step.output_types));
        if (step.output_types.size() < step.outputs.size()) {
            return internal_error(node.describe() + ": kernel " + step.implementation +
                                  " prepared fewer outputs than the node has");
        }
    }
    step.dynamic = !all_known || std::any_of(step.output_types.begin(), step.output_types.end(),
                                             [](const OutputInfo& o) { return !o.shape_known; });
    for (size_t i = 0; i < step.outputs.size(); ++i) {
        if (step.outputs[i] < 0) continue;
        Slot& slot = slots_[step.outputs[i]];
        if (!step.dynamic) {
            slot.dtype = step.output_types[i].dtype;
            slot.shape = step.output_types[i].shape;
            slot.shape_known = true;
            const int alias = step.kernel->alias_of(static_cast<int>(i));
            if (alias >= 0 && step.inputs[alias] >= 0) {
                const Slot& source = slots_[step.inputs[alias]];
                slot.alias_root = source.alias_root >= 0 ? source.alias_root : step.inputs[alias];
            }
        } else if (i < step.output_types.size()) {
            slot.dtype = step.output_types[i].dtype;
        }
    }
    const bool shape_only = node.op_type() == "Shape" || node.op_type() == "Size";
    const bool foldable =
        !step.dynamic && !never_fold(node) && node.subgraphs.empty() && (all_constant || (shape_only && all_known));
    if (foldable) return fold_step(step);
    steps_.push_back(std::move(step));
    return Status();
}

Status Session::fold_step(Step& step) {
    std::vector<Tensor> inputs;
    for (int s : step.inputs) {
        if (s < 0)
            inputs.emplace_back();
        else if (slots_[s].is_constant)
            inputs.push_back(slots_[s].constant);
        else
            inputs.emplace_back(slots_[s].dtype, slots_[s].shape, nullptr, 0);  // shape-only input of Shape/Size
    }
    std::vector<Tensor> outputs;
    for (size_t i = 0; i < step.outputs.size(); ++i) {
        const int alias = step.kernel->alias_of(static_cast<int>(i));
        const OutputInfo& type = step.output_types[i];
        if (alias >= 0)
            outputs.push_back(inputs[alias].reshaped(type.shape));
        else
            outputs.emplace_back(type.dtype, type.shape);
    }
    const bool all_alias = [&] {
        for (size_t i = 0; i < outputs.size(); ++i) {
            if (step.kernel->alias_of(static_cast<int>(i)) < 0) return false;
        }
        return true;
    }();
    if (!all_alias) PARE_RETURN_IF_ERROR(step.kernel->run(inputs, outputs));
    for (size_t i = 0; i < step.outputs.size(); ++i) {
        if (step.outputs[i] < 0) continue;
        Slot& slot = slots_[step.outputs[i]];
        slot.is_constant = true;
        slot.constant = step.kernel->alias_of(static_cast<int>(i)) >= 0 ? outputs[i].clone() : outputs[i];
        slot.alias_root = -1;
    }
    return Status();
}

void Session::plan_memory() {
    // Lifetimes: written at the producing step, read until the last consuming step.
    for (size_t i = 0; i < steps_.size(); ++i) {
        for (int s : steps_[i].outputs) {
            if (s >= 0) slots_[s].first_step = static_cast<int>(i);
        }
        for (int s : steps_[i].inputs) {
            if (s < 0) continue;
            const int root = slots_[s].alias_root >= 0 ? slots_[s].alias_root : s;
            slots_[s].last_step = static_cast<int>(i);
            slots_[root].last_step = std::max(slots_[root].last_step, static_cast<int>(i));
        }
    }
    // Values that escape (graph outputs, through aliases too) get their own memory. Observed values share the arena:
    // observers see them right after they are computed and copy what they keep.
    std::vector<bool> escapes(slots_.size(), false);
    for (size_t s = 0; s < slots_.size(); ++s) {
        if (!slots_[s].is_output) continue;
        escapes[s] = true;
        if (slots_[s].alias_root >= 0) escapes[slots_[s].alias_root] = true;
    }
    if (!options_.reuse_buffers) return;
    std::vector<BufferLifetime> lifetimes;
    std::vector<int> planned;
    for (size_t s = 0; s < slots_.size(); ++s) {
        const Slot& slot = slots_[s];
        if (slot.is_constant || slot.is_input || slot.alias_root >= 0 || escapes[s] || !slot.shape_known ||
            slot.first_step < 0) {
            continue;
        }
        lifetimes.push_back({dtype_storage_bytes(slot.dtype, shape_numel(slot.shape)), slot.first_step,
                             std::max(slot.first_step, slot.last_step)});
        planned.push_back(static_cast<int>(s));
    }
    const ArenaPlan plan = plan_arena(lifetimes);
    for (size_t i = 0; i < planned.size(); ++i) slots_[planned[i]].arena_offset = static_cast<int64_t>(plan.offsets[i]);
    if (plan.total_bytes) arena_ = Buffer::allocate_cpu(plan.total_bytes);
}

Status Session::prepare_at_run_time(Step& step, const std::vector<Tensor>& inputs, std::vector<OutputInfo>& outputs) {
    std::vector<InputInfo> infos;
    for (const Tensor& t : inputs) {
        InputInfo info;
        info.present = t.defined();
        if (t.defined()) {
            info.dtype = t.dtype();
            info.shape = t.shape();
            info.value = t;
        }
        infos.push_back(std::move(info));
    }
    outputs.clear();
    PARE_RETURN_IF_ERROR(step.kernel->prepare(infos, outputs));
    for (const auto& output : outputs) {
        if (!output.shape_known) return internal_error("kernel left an output shape unknown with every input known");
    }
    return Status();
}

Result<std::vector<Tensor>> Session::run(const std::vector<Tensor>& inputs) {
    if (inputs.size() != input_names_.size()) {
        return invalid_input("expected " + std::to_string(input_names_.size()) + " inputs, got " +
                             std::to_string(inputs.size()));
    }
    std::vector<Tensor> values(slots_.size());
    for (size_t s = 0; s < slots_.size(); ++s) {
        if (slots_[s].is_constant) values[s] = slots_[s].constant;
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
        const int s = slot_of(input_names_[i]);
        if (inputs[i].dtype() != input_types_[i].dtype || inputs[i].shape() != input_types_[i].shape) {
            return invalid_input("input '" + input_names_[i] + "' is " + dtype_name(inputs[i].dtype()) + " " +
                                 shape_to_string(inputs[i].shape()) + " but the model was compiled for " +
                                 dtype_name(input_types_[i].dtype) + " " + shape_to_string(input_types_[i].shape));
        }
        values[s] = inputs[i];
        if (observer_ && slots_[s].observed) observer_(input_names_[i], inputs[i]);
    }
    std::vector<Tensor> step_inputs, step_outputs;
    std::vector<OutputInfo> dynamic_types;
    for (size_t i = 0; i < steps_.size(); ++i) {
        Step& step = steps_[i];
        step_inputs.clear();
        for (int s : step.inputs) step_inputs.push_back(s >= 0 ? values[s] : Tensor());
        // describe() builds a string: named only when something failed, not on every run of every node.
        const auto named = [&step](Status status) {
            return status.ok() ? status : status.with_context(step.node->describe());
        };
        const std::vector<OutputInfo>* types = &step.output_types;
        if (step.dynamic) {
            PARE_RETURN_IF_ERROR(named(prepare_at_run_time(step, step_inputs, dynamic_types)));
            types = &dynamic_types;
        }
        step_outputs.clear();
        bool all_alias = true;
        for (size_t o = 0; o < step.outputs.size(); ++o) {
            const OutputInfo& type = (*types)[o];
            const int alias = step.kernel->alias_of(static_cast<int>(o));
            const int s = step.outputs[o];
            if (alias >= 0) {
                step_outputs.push_back(step_inputs[alias].reshaped(type.shape));
            } else if (s >= 0 && slots_[s].arena_offset >= 0 && !step.dynamic) {
                step_outputs.emplace_back(type.dtype, type.shape, arena_, static_cast<size_t>(slots_[s].arena_offset));
                all_alias = false;
            } else {
                PARE_ASSIGN_OR_RETURN(Tensor fresh, Tensor::make(type.dtype, type.shape));
                step_outputs.push_back(std::move(fresh));
                all_alias = false;
            }
        }
        if (!all_alias || step.outputs.empty()) {
            const auto start =
                options_.profile ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
            PARE_RETURN_IF_ERROR(named(step.kernel->run(step_inputs, step_outputs)));
            if (options_.profile) {
                step.total_ms +=
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
            }
        }
        for (size_t o = 0; o < step.outputs.size(); ++o) {
            const int s = step.outputs[o];
            if (s < 0) continue;
            values[s] = step_outputs[o];
            if (observer_ && slots_[s].observed) observer_(slots_[s].observed_as, values[s]);
        }
        // Drop references to values nobody reads any more, so unplanned memory is returned early.
        for (int s : step.inputs) {
            if (s >= 0 && slots_[s].last_step == static_cast<int>(i) && !slots_[s].is_output &&
                !slots_[s].is_constant) {
                values[s] = Tensor();
            }
        }
    }
    std::vector<Tensor> outputs;
    for (const auto& name : output_names_) {
        const Tensor& value = values[slot_of(name)];
        // Outputs that are inputs or constants are shared with the caller's or the session's memory: copy them.
        const Slot& slot = slots_[slot_of(name)];
        outputs.push_back(slot.is_constant || slot.is_input || slot.alias_root >= 0 ? value.clone() : value);
    }
    return outputs;
}

std::vector<Session::StepTime> Session::profile() const {
    std::vector<StepTime> times;
    for (const auto& step : steps_) times.push_back({step.node->describe(), step.implementation, step.total_ms});
    return times;
}

std::vector<std::pair<std::string, std::string>> Session::kernel_choices() const {
    std::vector<std::pair<std::string, std::string>> choices;
    for (const auto& step : steps_) choices.emplace_back(step.node->describe(), step.implementation);
    return choices;
}

namespace {

void collect_unsupported(const Graph& graph, Backend backend, std::vector<std::string>& found) {
    const KernelRegistry& registry = KernelRegistry::instance();
    for (const Node& node : graph.nodes) {
        if (registry.candidates(node.domain(), node.op_type(), backend).empty()) {
            found.push_back((node.is_onnx_domain() ? node.op_type() : node.domain() + "." + node.op_type()) +
                            (node.name().empty() ? std::string(" (unnamed)") : " '" + node.name() + "'"));
        }
        for (const auto& [attr, body] : node.subgraphs) collect_unsupported(*body, backend, found);
    }
}

}  // namespace

std::vector<std::string> find_unsupported_nodes(const Model& model, Backend backend) {
    std::vector<std::string> found;
    collect_unsupported(model.graph, backend, found);
    return found;
}

}  // namespace pare

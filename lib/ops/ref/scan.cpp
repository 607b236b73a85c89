// Scan. Opset 9+: inputs (state..., scan_input...), body (state..., element...) -> (state..., scan_element...),
// outputs (final_state..., scan_output...), with per-input and per-output axes and directions. Opset 8: a leading
// optional sequence_lens input and a batch axis 0 on every input; each batch item scans its own sequence (axis 1)
// and scan outputs are padded with zeros to the longest sequence.
#include "ops/kernel_util.h"
#include "ops/ref/control_flow.h"

namespace pare {

namespace {

// The states after the last iteration and, per scan output, its value at each iteration (in iteration order).
struct ScanIterations {
    std::vector<Tensor> states;
    std::vector<std::vector<Tensor>> elements;
};

class ScanKernel : public SubgraphKernel {
  public:
    ScanKernel(const KernelContext& context, const Graph& body, std::unique_ptr<SubgraphRunner> runner)
        : SubgraphKernel(context), body_(body), runner_(std::move(runner)), batched_(context.opset < 9) {
        const Node& node = context.node;
        scan_inputs_ = static_cast<int>(node.attr_int("num_scan_inputs", 0));
        states_ = node.num_inputs() - (batched_ ? 1 : 0) - scan_inputs_;
        scan_outputs_ = node.num_outputs() - states_;
        input_axes_ = node.attr_ints("scan_input_axes");
        input_directions_ = node.attr_ints(batched_ ? "directions" : "scan_input_directions");
        output_axes_ = node.attr_ints("scan_output_axes");
        output_directions_ = node.attr_ints("scan_output_directions");
        if (input_axes_.empty()) input_axes_.assign(scan_inputs_, 0);
        if (input_directions_.empty()) input_directions_.assign(scan_inputs_, 0);
        if (output_axes_.empty()) output_axes_.assign(scan_outputs_, 0);
        if (output_directions_.empty()) output_directions_.assign(scan_outputs_, 0);
    }

    /// Checks the counts the constructor derived from the node and attributes.
    Status validate() const {
        const Node& node = node_;
        if (scan_inputs_ < 1 || states_ < 0 || scan_outputs_ < 0) {
            return invalid_input(node.describe() + ": num_scan_inputs " + std::to_string(scan_inputs_) +
                                 " does not fit its " + std::to_string(node.num_inputs()) + " inputs");
        }
        if (body_.header.input_size() != states_ + scan_inputs_ ||
            body_.header.output_size() != states_ + scan_outputs_) {
            return invalid_input(node.describe() + ": body inputs/outputs do not match " + std::to_string(states_) +
                                 " states, " + std::to_string(scan_inputs_) + " scan inputs and " +
                                 std::to_string(scan_outputs_) + " scan outputs");
        }
        if (static_cast<int>(input_axes_.size()) != scan_inputs_ ||
            static_cast<int>(input_directions_.size()) != scan_inputs_ ||
            static_cast<int>(output_axes_.size()) != scan_outputs_ ||
            static_cast<int>(output_directions_.size()) != scan_outputs_) {
            return invalid_input(node.describe() + ": scan axes/directions attributes have the wrong length");
        }
        for (int i = batched_ ? 1 : 0; i < node.num_inputs(); ++i) {
            if (node.input(i).empty()) {
                return invalid_input(node.describe() + ": input " + std::to_string(i) + " is omitted");
            }
        }
        return Status();
    }

  protected:
    Result<std::vector<Tensor>> execute(const std::vector<Tensor>& inputs,
                                        const std::map<std::string, Tensor>& outer_values) override {
        return batched_ ? execute_batched(inputs, outer_values) : execute_unbatched(inputs, outer_values);
    }

    Result<std::vector<OutputInfo>> unknown_outputs(const std::vector<InputInfo>& inputs) override {
        std::vector<OutputInfo> outputs;
        const int first_state = batched_ ? 1 : 0;
        for (int i = 0; i < states_ + scan_outputs_; ++i) {
            OutputInfo info;
            info.dtype = i < states_ ? inputs[first_state + i].dtype : declared_output_type(body_, i).dtype;
            info.shape_known = false;
            outputs.push_back(info);
        }
        return outputs;
    }

  private:
    // Runs the body `count` times; scan input j is read along axes[j] (backwards when reverse[j]).
    Result<ScanIterations> iterate(std::vector<Tensor> states, const std::vector<Tensor>& scan_inputs,
                                   const std::vector<int64_t>& axes, int64_t count,
                                   const std::map<std::string, Tensor>& outer_values) {
        ScanIterations run;
        run.elements.resize(scan_outputs_);
        for (int64_t t = 0; t < count; ++t) {
            std::vector<Tensor> body_inputs = states;
            for (int j = 0; j < scan_inputs_; ++j) {
                const int64_t length = scan_inputs[j].shape()[axes[j]];
                PARE_ASSIGN_OR_RETURN(Tensor element,
                                      slice_along(scan_inputs[j], axes[j], input_directions_[j] ? length - 1 - t : t));
                body_inputs.push_back(std::move(element));
            }
            PARE_ASSIGN_OR_RETURN(std::vector<Tensor> results, runner_->run(body_inputs, outer_values));
            if (static_cast<int>(results.size()) != states_ + scan_outputs_) {
                return internal_error(node_.describe() + ": the body returned " + std::to_string(results.size()) +
                                      " values");
            }
            states.assign(results.begin(), results.begin() + states_);
            for (int k = 0; k < scan_outputs_; ++k) run.elements[k].push_back(results[states_ + k]);
        }
        run.states = std::move(states);
        return run;
    }

    // The per-iteration shape and dtype of scan output k: from a computed element, else as the body declares it.
    Result<std::pair<DType, Shape>> element_type(int k, const Tensor* sample) const {
        if (sample) return std::make_pair(sample->dtype(), sample->shape());
        const ValueType declared = declared_output_type(body_, states_ + k);
        if (declared.dtype == DType::kUndefined || !is_static(declared)) {
            return unsupported(node_.describe() + ": zero iterations and scan output " + std::to_string(k) +
                               " has no static declared type");
        }
        return std::make_pair(declared.dtype, declared.shape);
    }

    Status check_ranks(const std::vector<Tensor>& tensors, int64_t min_rank, const std::string& what) const {
        for (const Tensor& t : tensors) {
            if (t.rank() < min_rank) {
                return invalid_input(node_.describe() + ": " + what + " need rank >= " + std::to_string(min_rank) +
                                     ", got " + shape_to_string(t.shape()));
            }
        }
        return Status();
    }

    Result<int64_t> sequence_length(const std::vector<Tensor>& scan_inputs, const std::vector<int64_t>& axes) const {
        int64_t length = -1;
        for (int j = 0; j < scan_inputs_; ++j) {
            const int64_t here = scan_inputs[j].shape()[axes[j]];
            if (length >= 0 && here != length) {
                return invalid_input(node_.describe() + ": scan inputs have different sequence lengths " +
                                     std::to_string(length) + " and " + std::to_string(here));
            }
            length = here;
        }
        return length;
    }

    Result<std::vector<Tensor>> execute_unbatched(const std::vector<Tensor>& inputs,
                                                  const std::map<std::string, Tensor>& outer_values) {
        const std::vector<Tensor> states(inputs.begin(), inputs.begin() + states_);
        const std::vector<Tensor> scan_inputs(inputs.begin() + states_, inputs.end());
        PARE_RETURN_IF_ERROR(check_ranks(scan_inputs, 1, "scan inputs"));
        std::vector<int64_t> axes;
        for (int j = 0; j < scan_inputs_; ++j) {
            PARE_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(input_axes_[j], scan_inputs[j].rank(), node_));
            axes.push_back(axis);
        }
        PARE_ASSIGN_OR_RETURN(const int64_t length, sequence_length(scan_inputs, axes));
        PARE_ASSIGN_OR_RETURN(ScanIterations run, iterate(states, scan_inputs, axes, length, outer_values));
        std::vector<Tensor> outputs = run.states;
        for (int k = 0; k < scan_outputs_; ++k) {
            const auto& elements = run.elements[k];
            PARE_ASSIGN_OR_RETURN(auto type, element_type(k, elements.empty() ? nullptr : &elements[0]));
            PARE_ASSIGN_OR_RETURN(int64_t axis,
                                  normalize_axis(output_axes_[k], static_cast<int64_t>(type.second.size()) + 1, node_));
            PARE_ASSIGN_OR_RETURN(Tensor stacked,
                                  stack_along(elements, axis, output_directions_[k] != 0, type.first, type.second));
            outputs.push_back(std::move(stacked));
        }
        return outputs;
    }

    Result<std::vector<Tensor>> execute_batched(const std::vector<Tensor>& inputs,
                                                const std::map<std::string, Tensor>& outer_values) {
        const std::vector<Tensor> states(inputs.begin() + 1, inputs.begin() + 1 + states_);
        const std::vector<Tensor> scan_inputs(inputs.begin() + 1 + states_, inputs.end());
        PARE_RETURN_IF_ERROR(check_ranks(states, 1, "states"));
        PARE_RETURN_IF_ERROR(check_ranks(scan_inputs, 2, "scan inputs"));
        const int64_t batch = scan_inputs[0].dim(0);
        for (const auto* group : {&states, &scan_inputs}) {
            for (const Tensor& t : *group) {
                if (t.dim(0) != batch) {
                    return invalid_input(node_.describe() + ": inputs disagree on the batch size " +
                                         std::to_string(batch) + " (" + shape_to_string(t.shape()) + ")");
                }
            }
        }
        const std::vector<int64_t> axes(scan_inputs_, 0);  // after taking one batch item, the sequence axis is 0
        PARE_ASSIGN_OR_RETURN(const int64_t max_length,
                              sequence_length(scan_inputs, std::vector<int64_t>(scan_inputs_, 1)));
        std::vector<int64_t> lengths(static_cast<size_t>(batch), max_length);
        if (inputs[0].defined()) {
            lengths = tensor_to_int64s(inputs[0]);
            if (static_cast<int64_t>(lengths.size()) != batch) {
                return invalid_input(node_.describe() + ": sequence_lens has " + std::to_string(lengths.size()) +
                                     " entries for batch " + std::to_string(batch));
            }
        }
        std::vector<ScanIterations> runs;
        for (int64_t b = 0; b < batch; ++b) {
            if (lengths[b] < 0 || lengths[b] > max_length) {
                return invalid_input(node_.describe() + ": sequence length " + std::to_string(lengths[b]) +
                                     " is outside [0, " + std::to_string(max_length) + "]");
            }
            std::vector<Tensor> item_states, item_scans;
            for (const Tensor& state : states) {
                PARE_ASSIGN_OR_RETURN(Tensor item, slice_along(state, 0, b));
                item_states.push_back(std::move(item));
            }
            for (const Tensor& scan_input : scan_inputs) {
                PARE_ASSIGN_OR_RETURN(Tensor item, slice_along(scan_input, 0, b));
                item_scans.push_back(std::move(item));
            }
            PARE_ASSIGN_OR_RETURN(ScanIterations run, iterate(item_states, item_scans, axes, lengths[b], outer_values));
            runs.push_back(std::move(run));
        }
        std::vector<Tensor> outputs;
        for (int i = 0; i < states_; ++i) {
            std::vector<Tensor> parts;
            for (const auto& run : runs) parts.push_back(run.states[i]);
            const Shape element =
                batch ? parts[0].shape() : Shape(states[i].shape().begin() + 1, states[i].shape().end());
            PARE_ASSIGN_OR_RETURN(Tensor stacked, stack_along(parts, 0, false, states[i].dtype(), element));
            outputs.push_back(std::move(stacked));
        }
        for (int k = 0; k < scan_outputs_; ++k) {
            const Tensor* sample = nullptr;
            for (const auto& run : runs) {
                if (!run.elements[k].empty()) sample = &run.elements[k][0];
            }
            PARE_ASSIGN_OR_RETURN(auto type, element_type(k, sample));
            std::vector<Tensor> per_batch;
            for (const auto& run : runs) {
                std::vector<Tensor> steps = run.elements[k];
                while (static_cast<int64_t>(steps.size()) < max_length) steps.emplace_back(type.first, type.second);
                PARE_ASSIGN_OR_RETURN(Tensor stacked, stack_along(steps, 0, false, type.first, type.second));
                per_batch.push_back(std::move(stacked));
            }
            Shape sequence_shape = type.second;
            sequence_shape.insert(sequence_shape.begin(), max_length);
            PARE_ASSIGN_OR_RETURN(Tensor stacked, stack_along(per_batch, 0, false, type.first, sequence_shape));
            outputs.push_back(std::move(stacked));
        }
        return outputs;
    }

    const Graph& body_;
    std::unique_ptr<SubgraphRunner> runner_;
    bool batched_;  // opset 8
    int scan_inputs_ = 0, states_ = 0, scan_outputs_ = 0;
    std::vector<int64_t> input_axes_, input_directions_, output_axes_, output_directions_;
};

}  // namespace

Result<KernelPtr> create_scan_kernel(const KernelContext& context) {
    const Node& node = context.node;
    const Graph* body = node.subgraph("body");
    if (!body) return invalid_input(node.describe() + " has no body");
    if (!context.compile_subgraph) return internal_error(node.describe() + ": no subgraph compiler");
    PARE_ASSIGN_OR_RETURN(auto runner, context.compile_subgraph(*body));
    std::unique_ptr<ScanKernel> kernel(new ScanKernel(context, *body, std::move(runner)));
    PARE_RETURN_IF_ERROR(kernel->validate());
    return KernelPtr(kernel.release());
}

}  // namespace pare

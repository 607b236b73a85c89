// Loop: inputs (M, cond, v_initial...), body (iteration_num, condition, v...) -> (condition, v..., scan...),
// outputs (v_final..., scan_outputs...). M and cond are optional (an omitted cond starts as true). The body's
// condition output always decides whether the next iteration runs: the spec's table calls it "ignored" when cond is
// omitted, but ONNX's reference implementation and ONNX Runtime both honour it, and models are written against them.
// Each scan output stacks its per-iteration values along a new first axis. Loop-carried values may change shape
// between iterations (opset 11+).
#include <limits>

#include "ops/ref/control_flow.h"

namespace pare {

namespace {

class LoopKernel : public SubgraphKernel {
  public:
    LoopKernel(const KernelContext& context, const Graph& body, std::unique_ptr<SubgraphRunner> runner)
        : SubgraphKernel(context),
          body_(body),
          runner_(std::move(runner)),
          carried_(context.node.num_inputs() - 2),
          scans_(context.node.num_outputs() - carried_) {}

  protected:
    Result<std::vector<Tensor>> execute(const std::vector<Tensor>& inputs,
                                        const std::map<std::string, Tensor>& outer_values) override {
        int64_t trip_count = std::numeric_limits<int64_t>::max();
        if (inputs[0].defined()) {
            if (inputs[0].numel() != 1) {
                return invalid_input(node_.describe() + ": M must have one element, got shape " +
                                     shape_to_string(inputs[0].shape()));
            }
            trip_count = tensor_to_int64s(inputs[0])[0];
        }
        bool condition = true;
        if (inputs[1].defined()) {
            PARE_ASSIGN_OR_RETURN(condition, scalar_condition(inputs[1], node_));
        }
        std::vector<Tensor> carried(inputs.begin() + 2, inputs.end());
        std::vector<std::vector<Tensor>> scans(static_cast<size_t>(scans_));
        const ValueType iteration_type = declared_input_type(body_, 0), condition_type = declared_input_type(body_, 1);
        for (int64_t i = 0; i < trip_count && condition; ++i) {
            std::vector<Tensor> body_inputs = {
                scalar_like_declared(DType::kI64, static_cast<double>(i), iteration_type),
                scalar_like_declared(DType::kBool, condition ? 1.0 : 0.0, condition_type)};
            body_inputs.insert(body_inputs.end(), carried.begin(), carried.end());
            PARE_ASSIGN_OR_RETURN(std::vector<Tensor> results, runner_->run(body_inputs, outer_values));
            if (static_cast<int>(results.size()) != 1 + carried_ + scans_) {
                return internal_error(node_.describe() + ": the body returned " + std::to_string(results.size()) +
                                      " values");
            }
            PARE_ASSIGN_OR_RETURN(condition, scalar_condition(results[0], node_));
            for (int c = 0; c < carried_; ++c) carried[c] = results[1 + c];
            for (int s = 0; s < scans_; ++s) scans[s].push_back(results[1 + carried_ + s]);
        }
        std::vector<Tensor> outputs = carried;
        for (int s = 0; s < scans_; ++s) {
            DType dtype = scans[s].empty() ? declared_output_type(body_, 1 + carried_ + s).dtype : scans[s][0].dtype();
            Shape element_shape = scans[s].empty() ? Shape{} : scans[s][0].shape();
            if (scans[s].empty()) {
                // No iteration ran: the per-iteration shape is the declared one when static, else unknown (rank 0).
                const ValueType declared = declared_output_type(body_, 1 + carried_ + s);
                if (dtype == DType::kUndefined) {
                    return unsupported(node_.describe() + ": zero iterations and scan output " + std::to_string(s) +
                                       " has no declared type");
                }
                if (is_static(declared)) element_shape = declared.shape;
            }
            PARE_ASSIGN_OR_RETURN(Tensor stacked, stack_along(scans[s], 0, false, dtype, element_shape));
            outputs.push_back(std::move(stacked));
        }
        return outputs;
    }

    Result<std::vector<OutputInfo>> unknown_outputs(const std::vector<InputInfo>& inputs) override {
        std::vector<OutputInfo> outputs;
        for (int c = 0; c < carried_; ++c) {
            OutputInfo info;
            info.dtype = inputs[2 + c].dtype;
            info.shape_known = false;
            outputs.push_back(info);
        }
        for (int s = 0; s < scans_; ++s) {
            OutputInfo info;
            info.dtype = declared_output_type(body_, 1 + carried_ + s).dtype;
            info.shape_known = false;
            outputs.push_back(info);
        }
        return outputs;
    }

  private:
    const Graph& body_;
    std::unique_ptr<SubgraphRunner> runner_;
    int carried_;
    int scans_;
};

}  // namespace

Result<KernelPtr> create_loop_kernel(const KernelContext& context) {
    const Node& node = context.node;
    const Graph* body = node.subgraph("body");
    if (!body) return invalid_input(node.describe() + " has no body");
    const int carried = node.num_inputs() - 2;
    if (carried < 0) return invalid_input(node.describe() + " takes M, cond and the loop-carried values");
    for (int c = 0; c < carried; ++c) {
        if (node.input(2 + c).empty()) {
            return invalid_input(node.describe() + ": loop-carried input " + std::to_string(c) + " is omitted");
        }
    }
    if (body->header.input_size() != 2 + carried || body->header.output_size() < 1 + carried ||
        node.num_outputs() != body->header.output_size() - 1) {
        return invalid_input(node.describe() + ": body has " + std::to_string(body->header.input_size()) +
                             " inputs and " + std::to_string(body->header.output_size()) + " outputs for " +
                             std::to_string(carried) + " loop-carried values and " +
                             std::to_string(node.num_outputs()) + " node outputs");
    }
    if (!context.compile_subgraph) return internal_error(node.describe() + ": no subgraph compiler");
    PARE_ASSIGN_OR_RETURN(auto runner, context.compile_subgraph(*body));
    return KernelPtr(new LoopKernel(context, *body, std::move(runner)));
}

}  // namespace pare

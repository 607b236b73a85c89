// If: runs then_branch or else_branch on the one-element condition and returns that branch's outputs. The branches
// take no inputs; what they read from enclosing scopes arrives as outer-scope values. Output shapes are known at
// compile time only when the condition is constant and the chosen branch declares static output shapes.
#include "ops/ref/control_flow.h"

namespace pare {

namespace {

class IfKernel : public SubgraphKernel {
  public:
    IfKernel(const KernelContext& context, const Graph& then_branch, const Graph& else_branch,
             std::unique_ptr<SubgraphRunner> then_runner, std::unique_ptr<SubgraphRunner> else_runner)
        : SubgraphKernel(context),
          then_branch_(then_branch),
          else_branch_(else_branch),
          then_runner_(std::move(then_runner)),
          else_runner_(std::move(else_runner)) {}

  protected:
    Result<std::vector<Tensor>> execute(const std::vector<Tensor>& inputs,
                                        const std::map<std::string, Tensor>& outer_values) override {
        PARE_ASSIGN_OR_RETURN(const bool condition, scalar_condition(inputs[0], node_));
        return (condition ? then_runner_ : else_runner_)->run({}, outer_values);
    }

    Result<std::vector<OutputInfo>> unknown_outputs(const std::vector<InputInfo>& inputs) override {
        const Graph* chosen = nullptr;
        if (inputs[0].value) {
            PARE_ASSIGN_OR_RETURN(const bool condition, scalar_condition(*inputs[0].value, node_));
            chosen = condition ? &then_branch_ : &else_branch_;
        }
        std::vector<OutputInfo> outputs;
        for (int i = 0; i < node_.num_outputs(); ++i) {
            const ValueType then_type = declared_output_type(then_branch_, i);
            const ValueType type = chosen ? declared_output_type(*chosen, i) : then_type;
            OutputInfo info;
            info.dtype = type.dtype != DType::kUndefined ? type.dtype : declared_output_type(else_branch_, i).dtype;
            info.shape_known = chosen && is_static(type);
            if (info.shape_known) info.shape = type.shape;
            outputs.push_back(info);
        }
        return outputs;
    }

  private:
    const Graph& then_branch_;
    const Graph& else_branch_;
    std::unique_ptr<SubgraphRunner> then_runner_;
    std::unique_ptr<SubgraphRunner> else_runner_;
};

}  // namespace

Result<KernelPtr> create_if_kernel(const KernelContext& context) {
    const Node& node = context.node;
    const Graph* then_branch = node.subgraph("then_branch");
    const Graph* else_branch = node.subgraph("else_branch");
    if (!then_branch || !else_branch) return invalid_input(node.describe() + " needs then_branch and else_branch");
    if (node.num_inputs() != 1 || node.input(0).empty()) {
        return invalid_input(node.describe() + " takes one input, cond");
    }
    const int count = node.num_outputs();
    if (then_branch->header.output_size() != count || else_branch->header.output_size() != count) {
        return invalid_input(node.describe() + " has " + std::to_string(count) + " outputs but its branches have " +
                             std::to_string(then_branch->header.output_size()) + " and " +
                             std::to_string(else_branch->header.output_size()));
    }
    if (!context.compile_subgraph) return internal_error(node.describe() + ": no subgraph compiler");
    PARE_ASSIGN_OR_RETURN(auto then_runner, context.compile_subgraph(*then_branch));
    PARE_ASSIGN_OR_RETURN(auto else_runner, context.compile_subgraph(*else_branch));
    return KernelPtr(new IfKernel(context, *then_branch, *else_branch, std::move(then_runner), std::move(else_runner)));
}

}  // namespace pare

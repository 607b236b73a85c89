// Shared machinery of the control-flow kernels If, Loop and Scan (if.cpp, loop.cpp, scan.cpp).
//
// Their output shapes are known only after the subgraph ran, so they report shape_known = false unless every
// input value is known, and the session prepares them again at run time with every value. When prepare() has every
// value it executes the subgraph there, keeps the results and run() copies them out; otherwise run() executes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ops/kernel.h"

namespace pare {

class KernelRegistry;

class SubgraphKernel : public Kernel {
  public:
    explicit SubgraphKernel(const KernelContext& context);

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) final;
    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) final;

  protected:
    /// Computes every output from the node's explicit inputs (omitted ones undefined) and the outer-scope values
    /// its subgraphs read.
    virtual Result<std::vector<Tensor>> execute(const std::vector<Tensor>& inputs,
                                                const std::map<std::string, Tensor>& outer_values) = 0;
    /// Output types when some input value is not known yet: at least the dtypes, and shape_known = false for any
    /// shape that needs the subgraph to run. `inputs` are the explicit inputs only.
    virtual Result<std::vector<OutputInfo>> unknown_outputs(const std::vector<InputInfo>& inputs) = 0;

    const Node& node_;

  private:
    int explicit_count_;
    std::vector<std::string> implicit_names_;
    std::optional<std::vector<Tensor>> results_;  // computed by prepare(), handed out by the next run()
};

/// Declared type of a subgraph's output `index` (dtype kUndefined and has_shape false when not declared).
ValueType declared_output_type(const Graph& body, int index);
/// Declared type of a subgraph's input `index`.
ValueType declared_input_type(const Graph& body, int index);
/// True when a declared type has a rank and every dimension is a number.
bool is_static(const ValueType& type);

/// The one element of a condition tensor (bool or any numeric dtype) as a bool; fails unless it has one element.
Result<bool> scalar_condition(const Tensor& t, const Node& node);
/// A one-element tensor of `dtype` holding `value` (exact below 2^53), shaped as the subgraph declares: scalar
/// unless it declares a static one-element shape such as [1].
Tensor scalar_like_declared(DType dtype, double value, const ValueType& declared);

/// The sub-tensor at position `index` along `axis`, with that axis removed (a copy). 4-bit dtypes are unsupported.
Result<Tensor> slice_along(const Tensor& t, int64_t axis, int64_t index);
/// Stacks equally shaped tensors along a new axis at position `axis`; `reverse` stacks them last to first.
/// An empty list gives `element_shape` with a 0-sized axis inserted.
Result<Tensor> stack_along(const std::vector<Tensor>& parts, int64_t axis, bool reverse, DType dtype,
                           const Shape& element_shape);

/// Factories for the three ops (defined in if.cpp, loop.cpp, scan.cpp).
Result<KernelPtr> create_if_kernel(const KernelContext& context);
Result<KernelPtr> create_loop_kernel(const KernelContext& context);
Result<KernelPtr> create_scan_kernel(const KernelContext& context);

}  // namespace pare

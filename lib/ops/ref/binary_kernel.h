// The reference kernel of every op with two same-dtype inputs broadcast against each other: arithmetic
// (binary.cpp), comparisons and logic (logic.cpp). The op is a functor on the compute type, and one dtype switch
// per run() picks its instantiation.
#pragma once

#include <string>
#include <type_traits>

#include "ops/kernel_util.h"
#include "ops/ref/broadcast.h"
#include "ops/ref/dtype_dispatch.h"
#include "ops/registry.h"

namespace pare {

/// Op requirements: `static constexpr DTypeSet kTypes` (the input dtypes it takes), `static constexpr bool
/// kBoolOutput`, and `template <class C> R operator()(C a, C b) const` with R convertible to C (bool when
/// kBoolOutput), C being Compute<T> of the input storage type T.
template <class Op>
class BinaryKernel : public Kernel {
public:
    /// With `unidirectional`, input 1 must broadcast to input 0's shape (PRelu's slope), not the other way.
    BinaryKernel(const Node& node, Op op, bool unidirectional)
        : node_(node), op_(op), unidirectional_(unidirectional) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 2, 2));
        const DType dtype = inputs[0].dtype;
        if (inputs[1].dtype != dtype) {
            return invalid_input(node_.describe() + ": inputs have different dtypes " + dtype_name(dtype) + " and " +
                                 dtype_name(inputs[1].dtype));
        }
        PARE_RETURN_IF_ERROR(check_dtype_in(node_, dtype, Op::kTypes));
        PARE_ASSIGN_OR_RETURN(Shape shape, broadcast_input_shapes(node_, inputs, 0, 2));
        if (unidirectional_ && shape != inputs[0].shape) {
            return invalid_input(node_.describe() + ": input 1 of shape " + shape_to_string(inputs[1].shape) +
                                 " does not broadcast to input 0 of shape " + shape_to_string(inputs[0].shape));
        }
        outputs = {OutputInfo{Op::kBoolOutput ? DType::kBool : dtype, shape}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& a = inputs[0];
        const Tensor& b = inputs[1];
        Tensor& dst = outputs[0];
        const BroadcastLoop loop({a.shape(), b.shape()}, dst.shape());
        const Op op = op_;
        return dispatch_dtype<Op::kTypes>(a.dtype(), [&](auto tag) {
            using T = typename decltype(tag)::type;
            using D = std::conditional_t<Op::kBoolOutput, bool, T>;
            broadcast_map(loop, dst.data<D>(), [op](T x, T y) { return store<D>(op(load(x), load(y))); },
                          a.data<T>(), b.data<T>());
        });
    }

private:
    const Node& node_;
    Op op_;
    bool unidirectional_;
};

/// Registers the reference kernel of a binary op whose functor needs nothing from the node.
template <class Op>
void add_binary(KernelRegistry& registry, const std::string& op_type) {
    registry.add_reference(op_type, [](const KernelContext& context) -> Result<KernelPtr> {
        PARE_RETURN_IF_ERROR(check_no_legacy_broadcast(context.node, context.opset));
        return KernelPtr(new BinaryKernel<Op>(context.node, Op(), false));
    });
}

}  // namespace pare

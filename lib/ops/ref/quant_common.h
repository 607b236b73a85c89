// Small helpers shared by the quantized reference kernels (quantize_linear.cpp, matmul_integer.cpp,
// conv_integer.cpp).
#pragma once

#include <string>
#include <vector>

#include "ops/registry.h"

namespace pare {

/// The 8-bit integer types of the quantized compute ops.
inline const std::vector<DType>& int8_dtypes() {
    static const std::vector<DType> types = {DType::kU8, DType::kI8};
    return types;
}

/// The scale types of the quantization ops (float8 scales are out of reach: pare's tensors cannot hold them).
inline const std::vector<DType>& scale_dtypes() {
    static const std::vector<DType> types = {DType::kF32, DType::kF16, DType::kBF16};
    return types;
}

/// Input `index`, or an undefined tensor when it is omitted or beyond the node's inputs.
inline Tensor optional_input(const std::vector<Tensor>& inputs, size_t index) {
    return index < inputs.size() ? inputs[index] : Tensor();
}

/// Registers reference kernel K, built from the node alone, for an op of `domain` ("" is ai.onnx).
template <class K>
void add_node_kernel(KernelRegistry& registry, const std::string& op, const std::string& domain = "") {
    registry.add(KernelEntry{domain, op, "reference", Backend::kCpu, kReferenceRank,
                             [](const KernelContext& context) -> Result<KernelPtr> {
                                 return KernelPtr(new K(context.node));
                             }});
}

}  // namespace pare

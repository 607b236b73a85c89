#include "ops/ref/control_flow.h"

#include <algorithm>
#include <cstring>

#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

SubgraphKernel::SubgraphKernel(const KernelContext& context)
    : node_(context.node), explicit_count_(context.node.num_inputs()), implicit_names_(context.implicit_inputs) {}

Status SubgraphKernel::prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) {
    if (static_cast<int>(inputs.size()) != explicit_count_ + static_cast<int>(implicit_names_.size())) {
        return internal_error(node_.describe() + ": got " + std::to_string(inputs.size()) + " inputs, expected " +
                              std::to_string(explicit_count_) + " plus " + std::to_string(implicit_names_.size()) +
                              " outer-scope values");
    }
    results_.reset();
    const bool all_values =
        std::all_of(inputs.begin(), inputs.end(), [](const InputInfo& info) { return !info.present || info.value; });
    if (!all_values) {
        const std::vector<InputInfo> explicit_inputs(inputs.begin(), inputs.begin() + explicit_count_);
        PARE_ASSIGN_OR_RETURN(outputs, unknown_outputs(explicit_inputs));
        return Status();
    }
    std::vector<Tensor> values;
    for (const InputInfo& info : inputs) values.push_back(info.present ? *info.value : Tensor());
    std::map<std::string, Tensor> outer;
    for (size_t i = 0; i < implicit_names_.size(); ++i) outer[implicit_names_[i]] = values[explicit_count_ + i];
    values.resize(explicit_count_);
    PARE_ASSIGN_OR_RETURN(std::vector<Tensor> results, execute(values, outer));
    outputs.clear();
    for (const Tensor& t : results) outputs.push_back(OutputInfo{t.dtype(), t.shape()});
    results_ = std::move(results);
    return Status();
}

Status SubgraphKernel::run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) {
    std::vector<Tensor> results;
    if (results_) {
        results = std::move(*results_);
        results_.reset();
    } else {
        std::map<std::string, Tensor> outer;
        for (size_t i = 0; i < implicit_names_.size(); ++i) outer[implicit_names_[i]] = inputs[explicit_count_ + i];
        const std::vector<Tensor> explicit_inputs(inputs.begin(), inputs.begin() + explicit_count_);
        PARE_ASSIGN_OR_RETURN(results, execute(explicit_inputs, outer));
    }
    if (results.size() < outputs.size()) {
        return internal_error(node_.describe() + ": the subgraph produced " + std::to_string(results.size()) +
                              " values for " + std::to_string(outputs.size()) + " outputs");
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
        if (results[i].dtype() != outputs[i].dtype() || results[i].shape() != outputs[i].shape()) {
            return invalid_input(node_.describe() + ": output " + std::to_string(i) + " is " +
                                 dtype_name(results[i].dtype()) + " " + shape_to_string(results[i].shape()) +
                                 " but the model declares " + dtype_name(outputs[i].dtype()) + " " +
                                 shape_to_string(outputs[i].shape()));
        }
        if (outputs[i].nbytes()) std::memcpy(outputs[i].raw(), results[i].raw(), outputs[i].nbytes());
    }
    return Status();
}

namespace {

ValueType declared_type(const Graph& body, const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& list,
                        int index) {
    if (index < 0 || index >= list.size()) return ValueType{};
    const onnx::ValueInfoProto* info = body.find_value_info(list.Get(index).name());
    return value_type_from_proto(info ? *info : list.Get(index));
}

int64_t element_bytes(DType dtype) {
    return dtype_bits(dtype) / 8;
}

}  // namespace

ValueType declared_output_type(const Graph& body, int index) {
    return declared_type(body, body.header.output(), index);
}

ValueType declared_input_type(const Graph& body, int index) {
    return declared_type(body, body.header.input(), index);
}

bool is_static(const ValueType& type) {
    return type.has_shape && shape_numel(type.shape) >= 0;
}

Result<bool> scalar_condition(const Tensor& t, const Node& node) {
    if (!t.defined() || t.numel() != 1) {
        return invalid_input(node.describe() + ": condition must have one element, got shape " +
                             shape_to_string(t.shape()));
    }
    return t.element_as_double(0) != 0.0;
}

Tensor scalar_like_declared(DType dtype, double value, const ValueType& declared) {
    const Shape shape = is_static(declared) && shape_numel(declared.shape) == 1 ? declared.shape : Shape{};
    Tensor t(DType::kF64, shape);
    t.data<double>()[0] = value;
    return t.cast(dtype);
}

Result<Tensor> slice_along(const Tensor& t, int64_t axis, int64_t index) {
    if (dtype_bits(t.dtype()) % 8) return unsupported("slicing " + dtype_name(t.dtype()) + " tensors in control flow");
    Shape shape = t.shape();
    const int64_t dim = shape[axis];
    shape.erase(shape.begin() + axis);
    int64_t outer = 1, inner = element_bytes(t.dtype());
    for (int64_t d = 0; d < axis; ++d) outer *= t.shape()[d];
    for (int64_t d = axis + 1; d < t.rank(); ++d) inner *= t.shape()[d];
    Tensor out(t.dtype(), shape);
    const char* src = static_cast<const char*>(t.raw());
    char* dst = static_cast<char*>(out.raw());
    for (int64_t o = 0; o < outer; ++o) std::memcpy(dst + o * inner, src + (o * dim + index) * inner, inner);
    return out;
}

Result<Tensor> stack_along(const std::vector<Tensor>& parts, int64_t axis, bool reverse, DType dtype,
                           const Shape& element_shape) {
    if (dtype_bits(dtype) % 8) return unsupported("stacking " + dtype_name(dtype) + " tensors in control flow");
    const int64_t count = static_cast<int64_t>(parts.size());
    for (const Tensor& part : parts) {
        if (part.dtype() != dtype || part.shape() != element_shape) {
            return invalid_input("scan output values differ between iterations: " + dtype_name(part.dtype()) + " " +
                                 shape_to_string(part.shape()) + " after " + dtype_name(dtype) + " " +
                                 shape_to_string(element_shape));
        }
    }
    Shape shape = element_shape;
    shape.insert(shape.begin() + axis, count);
    int64_t outer = 1, inner = element_bytes(dtype);
    for (int64_t d = 0; d < axis; ++d) outer *= element_shape[d];
    for (size_t d = axis; d < element_shape.size(); ++d) inner *= element_shape[d];
    PARE_ASSIGN_OR_RETURN(Tensor out, Tensor::make(dtype, shape));
    char* dst = static_cast<char*>(out.raw());
    for (int64_t t = 0; t < count; ++t) {
        const char* src = static_cast<const char*>(parts[reverse ? count - 1 - t : t].raw());
        for (int64_t o = 0; o < outer; ++o) std::memcpy(dst + (o * count + t) * inner, src + o * inner, inner);
    }
    return out;
}

void register_control_flow_kernels(KernelRegistry& registry) {
    registry.add_reference("If", create_if_kernel);
    registry.add_reference("Loop", create_loop_kernel);
    registry.add_reference("Scan", create_scan_kernel);
}

}  // namespace pare

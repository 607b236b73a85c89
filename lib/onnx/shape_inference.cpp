#include "onnx/shape_inference.h"

#include <onnx/shape_inference/implementation.h>

#include "core/log.h"
#include "onnx/model_io.h"

namespace pare {

namespace {

// Weights are irrelevant to shapes: keep only small integer tensors, which data propagation may read.
void drop_large_payloads(onnx::GraphProto& graph) {
    constexpr int kKeepElements = 64;
    for (auto& init : *graph.mutable_initializer()) {
        int64_t numel = 1;
        for (int64_t d : init.dims()) numel *= d;
        const bool integer = init.data_type() == onnx::TensorProto::INT64 || init.data_type() == onnx::TensorProto::INT32;
        if (numel > kKeepElements || !integer) {
            init.clear_raw_data();
            init.clear_float_data();
            init.clear_double_data();
            init.clear_int32_data();
            init.clear_int64_data();
            init.clear_uint64_data();
        }
    }
}

void bind_inputs(onnx::GraphProto& graph, const std::map<std::string, Shape>& input_shapes) {
    for (auto& input : *graph.mutable_input()) {
        if (!input.type().has_tensor_type() || !input.type().tensor_type().has_shape()) continue;
        auto* shape = input.mutable_type()->mutable_tensor_type()->mutable_shape();
        auto bound = input_shapes.find(input.name());
        if (bound != input_shapes.end()) {
            shape->clear_dim();
            for (int64_t d : bound->second) shape->add_dim()->set_dim_value(d);
            continue;
        }
        for (auto& dim : *shape->mutable_dim()) {
            if (!dim.has_dim_value()) dim.set_dim_value(1);
        }
    }
}

}  // namespace

std::map<std::string, ValueType> infer_value_types(const Model& model, const std::map<std::string, Shape>& input_shapes) {
    std::map<std::string, ValueType> types;
    onnx::ModelProto proto = model_to_proto(model);
    drop_large_payloads(*proto.mutable_graph());
    bind_inputs(*proto.mutable_graph(), input_shapes);
    proto.mutable_graph()->clear_value_info();
    try {
        onnx::ShapeInferenceOptions options(false, 0, true);
        onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), options);
    } catch (const std::exception& error) {
        log_verbose(std::string("shape inference stopped early: ") + error.what());
    }
    const auto& graph = proto.graph();
    for (const auto* list : {&graph.input(), &graph.value_info(), &graph.output()}) {
        for (const auto& info : *list) types[info.name()] = value_type_from_proto(info);
    }
    for (const auto& init : graph.initializer()) {
        ValueType type;
        type.dtype = dtype_from_onnx(init.data_type());
        type.shape.assign(init.dims().begin(), init.dims().end());
        type.has_shape = true;
        types[init.name()] = type;
    }
    return types;
}

}  // namespace pare

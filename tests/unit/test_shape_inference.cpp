#include <doctest/doctest.h>

#include "onnx/model_io.h"
#include "onnx/shape_inference.h"
#include "report/model_stats.h"
#include "test_helpers.h"

using namespace pare;
using namespace pare_test;

TEST_CASE("shape inference binds dynamic batch dims and resolves every layer of the sample CNN") {
    auto loaded = load_model(source_path("sample_data/fmnist/cnn.onnx"));
    REQUIRE(loaded.ok());
    const auto types = infer_value_types(loaded->model, {{"input", {8, 1, 28, 28}}});
    const auto logits = types.find("logits");
    REQUIRE(logits != types.end());
    CHECK(logits->second.shape == Shape{8, 10});
    const auto unbound = infer_value_types(loaded->model);
    CHECK(unbound.at("logits").shape == Shape{1, 10});  // dynamic dims default to 1
}

TEST_CASE("model stats count weights as PyTorch does and find MACs of every layer") {
    auto loaded = load_model(source_path("sample_data/fmnist/mlp.onnx"));
    REQUIRE(loaded.ok());
    const ModelStats stats = compute_model_stats(loaded->model, infer_value_types(loaded->model));
    CHECK(stats.parameters == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
    REQUIRE(stats.layers.size() == 3);
    CHECK(stats.total_macs == 784 * 256 + 256 * 128 + 128 * 10);
}

TEST_CASE("Constant-node weights and Q/DQ scales are told apart") {
    // Conv weight held by a Constant node, fed through DequantizeLinear whose scale must not count.
    Model model;
    auto* opset = model.header.add_opset_import();
    opset->set_version(13);
    model.header.set_ir_version(8);
    Graph& g = model.graph;
    g.header.add_input()->set_name("x");
    g.header.add_output()->set_name("y");
    onnx::NodeProto constant;
    constant.set_op_type("Constant");
    constant.add_output("w_q");
    Node constant_node(constant);
    StoredTensor w;
    w.value = Tensor(DType::kI8, {4, 1, 3, 3});
    constant_node.tensor_attributes.emplace_back("value", w);
    constant_node.proto.add_attribute()->set_name("value");
    g.nodes.push_back(constant_node);
    g.set_initializer("scale", tensor_from_vector<float>({0.1f, 0.2f, 0.3f, 0.4f}, {4}));
    onnx::NodeProto dq;
    dq.set_op_type("DequantizeLinear");
    dq.add_input("w_q");
    dq.add_input("scale");
    dq.add_output("w");
    g.nodes.emplace_back(dq);
    onnx::NodeProto conv;
    conv.set_op_type("Conv");
    conv.add_input("x");
    conv.add_input("w");
    conv.add_output("y");
    g.nodes.emplace_back(conv);
    const ModelStats stats = compute_model_stats(model, {});
    CHECK(stats.parameters == 36);
    CHECK(stats.parameters_by_dtype.at("i8") == 36);
    REQUIRE(stats.layers.size() == 1);
    CHECK(stats.layers[0].weight == "w_q");
    CHECK(stats.layers[0].parameters == 36);
}

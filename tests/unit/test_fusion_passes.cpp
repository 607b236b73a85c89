// The optimizing passes (Gelu, BatchNormalization folding, QDQ fusion, quantized data ops, activation fusion,
// channels-last regions): each fires on a small model built here, and the optimized session on the fast kernels
// gives the unoptimized reference session's results on random inputs. Kept and observed values survive.
//
// Tolerances: float models rtol 1e-4 / atol 1e-4. The QDQ model compares its float outputs within 2 quanta of the
// output's scale: the int8 path requantizes in float (oneDNN) where the reference rounds in double, and quantizes
// the float bias to int32, so an intermediate may move by one unit.
#include <doctest/doctest.h>

#include <map>

#include "backend_test_util.h"
#include "exec/session.h"
#include "graph/fused_ops.h"
#include "graph/pass_util.h"
#include "graph/passes.h"
#include "model_builder.h"

using namespace pare;
using pare_test::Random;

namespace {

// A model under construction: nodes are appended in order, initializers random.
struct Builder {
    Model model;
    Random random{7};
    int counter = 0;

    Builder(const Shape& input_shape, int64_t opset) {
        auto* import = model.header.add_opset_import();
        import->set_domain("");
        import->set_version(opset);
        *model.graph.header.add_input() = pare_test::value_info("input", DType::kF32, input_shape);
    }
    std::string weight(const Shape& shape, float lo = -0.5f, float hi = 0.5f) {
        const std::string name = "w" + std::to_string(counter++);
        model.graph.set_initializer(name, random.floats(shape, lo, hi));
        return name;
    }
    std::string constant(Tensor value) {
        const std::string name = "c" + std::to_string(counter++);
        model.graph.set_initializer(name, std::move(value));
        return name;
    }
    std::string add(const std::string& op, const std::vector<std::string>& inputs,
                    const std::map<std::string, int64_t>& int_attrs = {}) {
        const std::string out = op + "_" + std::to_string(counter++);
        Node node = make_node(op, inputs, {out}, out + "_node");
        for (const auto& [name, value] : int_attrs) node.set_attr_int(name, value);
        model.graph.nodes.push_back(std::move(node));
        return out;
    }
    Node& last() { return model.graph.nodes.back(); }
    void output(const std::string& name) { model.graph.header.add_output()->set_name(name); }

    std::string conv(const std::string& x, int64_t in, int64_t out, int64_t k, int64_t stride, int64_t group = 1) {
        const std::string y = add("Conv", {x, weight({out, in / group, k, k}), weight({out})}, {{"group", group}});
        last().set_attr_ints("strides", {stride, stride});
        last().set_attr_ints("pads", {k / 2, k / 2, k / 2, k / 2});
        return y;
    }
    std::string batch_norm(const std::string& x, int64_t channels) {
        return add("BatchNormalization", {x, weight({channels}, 0.5f, 1.5f), weight({channels}), weight({channels}),
                                          weight({channels}, 0.5f, 2.0f)});
    }
};

// Runs the model optimized on the fast kernels and unoptimized on the reference kernels; compares every output.
void check_equivalent(const Model& model, const Shape& input_shape, double rtol, double atol,
                      const std::set<std::string>& observed = {}) {
    Random random(99);
    const Tensor input = random.floats(input_shape);
    SessionOptions fast, reference;
    fast.observed = observed;
    reference.reference_only = true;
    auto fast_session = Session::create(model, {{"input", input_shape}}, fast);
    auto reference_session = Session::create(model, {{"input", input_shape}}, reference);
    REQUIRE_MESSAGE(fast_session.ok(), fast_session.status().message());
    REQUIRE_MESSAGE(reference_session.ok(), reference_session.status().message());
    std::map<std::string, Tensor> seen;
    (*fast_session)->set_observer([&](const std::string& name, const Tensor& value) { seen[name] = value.clone(); });
    auto expected = (*reference_session)->run({input});
    auto actual = (*fast_session)->run({input});
    REQUIRE(expected.ok());
    REQUIRE(actual.ok());
    for (size_t o = 0; o < actual->size(); ++o) {
        CHECK_MESSAGE(pare_test::compare((*actual)[o], (*expected)[o], rtol, atol) == "",
                      pare_test::compare((*actual)[o], (*expected)[o], rtol, atol));
    }
    for (const auto& name : observed) CHECK_MESSAGE(seen.count(name), "observed value " << name << " was not seen");
}

int count_ops(const Graph& graph, const std::string& op, const std::string& domain = "") {
    int count = 0;
    for (const auto& node : graph.nodes) count += node.op_type() == op && node.domain() == domain;
    return count;
}

std::set<std::string> outputs_of(const Model& model) {
    const auto names = model.graph.output_names();
    return std::set<std::string>(names.begin(), names.end());
}

// A small CNN: Conv-BN-Relu, a residual block, ReLU6, MaxPool and Concat, global pooling, Gemm-BN-Relu.
Model cnn_model() {
    Builder b({2, 3, 12, 12}, 13);
    std::string x = b.add("Relu", {b.batch_norm(b.conv("input", 3, 8, 3, 1), 8)});
    const std::string y = b.batch_norm(b.conv(b.add("Relu", {b.conv(x, 8, 8, 3, 1)}), 8, 8, 3, 1), 8);
    x = b.add("Relu", {b.add("Add", {y, x})});
    x = b.add("Clip", {b.conv(x, 8, 8, 3, 1, 8), b.constant(tensor_from_vector<float>({0.0f}, {})),
                       b.constant(tensor_from_vector<float>({6.0f}, {}))});
    const std::string pooled = b.add("MaxPool", {x});
    b.last().set_attr_ints("kernel_shape", {2, 2});
    b.last().set_attr_ints("strides", {2, 2});
    x = b.add("Concat", {pooled, b.add("HardSwish", {b.conv(x, 8, 4, 3, 2)})}, {{"axis", 1}});
    x = b.add("Flatten", {b.add("GlobalAveragePool", {x})});
    x = b.add("Gemm", {x, b.weight({16, 12}), b.weight({16})}, {{"transB", 1}});
    x = b.add("Relu", {b.batch_norm(x, 16)});
    b.output(b.add("Gemm", {x, b.weight({16, 10}), b.weight({10})}));
    return b.model;
}

// A transformer MLP: MatMul + bias, GELU spelled with Erf, MatMul + bias, residual, LayerNormalization.
Model mlp_block_model() {
    Builder b({2, 5, 8}, 17);
    std::string h = b.add("Add", {b.add("MatMul", {"input", b.weight({8, 16})}), b.weight({16})});
    const std::string scaled = b.add("Div", {h, b.constant(tensor_from_vector<float>({1.4142135f}, {}))});
    const std::string erf = b.add("Add", {b.add("Erf", {scaled}), b.constant(tensor_from_vector<float>({1.0f}, {}))});
    h = b.add("Mul", {b.add("Mul", {h, erf}), b.constant(tensor_from_vector<float>({0.5f}, {}))});
    h = b.add("Add", {b.add("MatMul", {h, b.weight({16, 8})}), b.weight({8})});
    h = b.add("Add", {"input", h});
    b.output(b.add("LayerNormalization", {h, b.weight({8}), b.weight({8})}, {{"axis", -1}}));
    return b.model;
}

// Float -> QDQ int8: Q/DQ on the activations, DQ on per-channel int8 weights, as a static quantizer writes them.
Model qdq_model() {
    Builder b({2, 3, 10, 10}, 13);
    auto quantize = [&](const std::string& x, float scale, int zero) {
        const std::string s = b.constant(tensor_from_vector<float>({scale}, {}));
        const std::string z = b.constant(tensor_from_vector<uint8_t>({static_cast<uint8_t>(zero)}, {}));
        return b.add("DequantizeLinear", {b.add("QuantizeLinear", {x, s, z}), s, z});
    };
    auto weights = [&](const Shape& shape, int64_t axis) {
        Random& r = b.random;
        const Tensor q = r.integers(DType::kI8, shape, -100, 100);
        const std::string s = b.constant(r.floats({shape[axis]}, 0.002f, 0.01f));
        const std::string z = b.constant(Tensor(DType::kI8, {shape[axis]}));
        return b.add("DequantizeLinear", {b.constant(q), s, z}, {{"axis", axis}});
    };
    std::string x = quantize("input", 0.02f, 128);
    x = b.add("Conv", {x, weights({8, 3, 3, 3}, 0), b.weight({8})});
    b.last().set_attr_ints("pads", {1, 1, 1, 1});
    x = quantize(b.add("Relu", {x}), 0.01f, 0);
    x = b.add("MaxPool", {x});
    b.last().set_attr_ints("kernel_shape", {2, 2});
    b.last().set_attr_ints("strides", {2, 2});
    x = quantize(x, 0.01f, 0);
    x = b.add("Conv", {x, weights({8, 1, 3, 3}, 0), b.weight({8})}, {{"group", 8}});
    b.last().set_attr_ints("pads", {1, 1, 1, 1});
    x = quantize(b.add("Clip", {x, b.constant(tensor_from_vector<float>({0.0f}, {})),
                                b.constant(tensor_from_vector<float>({2.0f}, {}))}),
                 0.008f, 0);
    x = quantize(b.add("Flatten", {x}), 0.008f, 0);
    x = quantize(b.add("Gemm", {x, weights({10, 200}, 0), b.weight({10})}, {{"transB", 1}}), 0.05f, 120);
    b.output(x);
    return b.model;
}

// pare quantize's layout: activations quantized where they are read, so MaxPool and Concat sit between a Conv and
// its QuantizeLinear; int32 biases behind DequantizeLinear.
Model read_side_qdq_model() {
    Builder b({2, 3, 10, 10}, 13);
    auto scalar = [&](float scale, int zero) {
        return std::make_pair(b.constant(tensor_from_vector<float>({scale}, {})),
                              b.constant(tensor_from_vector<uint8_t>({static_cast<uint8_t>(zero)}, {})));
    };
    auto quantize = [&](const std::string& x, float scale, int zero) {
        const auto [s, z] = scalar(scale, zero);
        return b.add("DequantizeLinear", {b.add("QuantizeLinear", {x, s, z}), s, z});
    };
    auto conv = [&](const std::string& x, int64_t in, int64_t out, float x_scale) {
        Random& r = b.random;
        const Tensor w_scale = r.floats({out}, 0.002f, 0.01f);
        Tensor bias_scale(DType::kF32, {out});
        for (int64_t c = 0; c < out; ++c) bias_scale.data<float>()[c] = x_scale * w_scale.data<float>()[c];
        const std::string w = b.add("DequantizeLinear",
                                    {b.constant(r.integers(DType::kI8, {out, in, 3, 3}, -100, 100)),
                                     b.constant(w_scale), b.constant(Tensor(DType::kI8, {out}))},
                                    {{"axis", 0}});
        const std::string bias = b.add("DequantizeLinear",
                                       {b.constant(r.integers(DType::kI32, {out}, -500, 500)), b.constant(bias_scale),
                                        b.constant(Tensor(DType::kI32, {out}))},
                                       {{"axis", 0}});
        const std::string y = b.add("Conv", {x, w, bias});
        b.last().set_attr_ints("pads", {1, 1, 1, 1});
        return y;
    };
    const std::string x = quantize("input", 0.02f, 128);
    const std::string relu = b.add("Relu", {conv(x, 3, 8, 0.02f)});
    const std::string pooled = b.add("MaxPool", {relu});
    b.last().set_attr_ints("kernel_shape", {2, 2});
    b.last().set_attr_ints("strides", {2, 2});
    const std::string left = quantize(pooled, 0.01f, 0);
    const std::string right = b.add("Relu", {conv(left, 8, 4, 0.01f)});
    const std::string joined = quantize(b.add("Concat", {left, right}, {{"axis", 1}}), 0.01f, 0);
    b.output(conv(joined, 12, 5, 0.01f));
    return b.model;
}

}  // namespace

TEST_CASE("passes: QuantizeLinear moves above MaxPool and Concat so the Convs before them run int8") {
    const Model model = read_side_qdq_model();
    Graph g = model.graph;
    const auto keep = outputs_of(model);
    CHECK(hoist_quantize(g, keep) == 2);  // above the MaxPool, above the Concat (one copy per input)
    CHECK(fuse_qdq(g, keep) == 2);        // the last Conv's output stays float: no QuantizeLinear follows it
    CHECK(count_ops(g, "QLinearConv", kPareDomain) == 2);
    check_equivalent(model, {2, 3, 10, 10}, 1e-4, 1e-4);
}

TEST_CASE("passes: BatchNormalization folds, activations and residuals fuse, CNN regions go channels-last") {
    const Model model = cnn_model();
    Graph g = model.graph;
    const auto keep = outputs_of(model);
    CHECK(fold_batch_norm(g, keep) == 3);  // two after a Conv, one after a Gemm
    CHECK(fuse_activation(g, keep) > 0);
    CHECK(count_ops(g, "Add") == 0);  // the residual became the Conv's added input
    CHECK(count_ops(g, "Relu") == 0);
    CHECK(count_ops(g, "Clip") == 0);
    CHECK(convert_to_channels_last(g, keep) > 0);
    CHECK(count_ops(g, "Transpose") == 2);  // into the region at the input, out of it before Flatten
    check_equivalent(model, {2, 3, 12, 12}, 1e-4, 1e-4);
}

TEST_CASE("passes: GELU written with Erf becomes Gelu and fuses into the MatMul with its bias") {
    const Model model = mlp_block_model();
    Graph g = model.graph;
    const auto keep = outputs_of(model);
    CHECK(fuse_gelu(g, keep) == 1);
    CHECK(count_ops(g, "Erf") == 0);
    CHECK(fuse_activation(g, keep) == 3);  // both bias Adds and the Gelu; the residual Add stays
    CHECK(count_ops(g, "MatMul", kPareDomain) == 2);
    check_equivalent(model, {2, 5, 8}, 1e-4, 1e-4);
}

TEST_CASE("passes: QDQ convolutions and products run as int8") {
    const Model model = qdq_model();
    Graph g = model.graph;
    const auto keep = outputs_of(model);
    CHECK(fuse_qdq(g, keep) == 3);
    CHECK(count_ops(g, "QLinearConv", kPareDomain) == 2);    // with Relu and Clip
    CHECK(count_ops(g, "QLinearMatMul", kPareDomain) == 1);  // Gemm with a bias
    CHECK(run_quantized_data_ops(g, keep) == 2);             // MaxPool and Flatten on uint8
    CHECK(count_ops(g, "QuantizeLinear") == 1);              // only the model input is quantized in float
    check_equivalent(model, {2, 3, 10, 10}, 0.0, 2 * 0.05);
}

TEST_CASE("passes: kept and observed values are never fused away") {
    const Model model = cnn_model();
    Graph g = model.graph;
    // The first Conv's output, the Relu after it, and the residual sum stay visible.
    const std::string conv = g.nodes[0].output(0), relu = g.nodes[2].output(0);
    std::set<std::string> keep = outputs_of(model);
    keep.insert(conv);
    keep.insert(relu);
    optimize_graph(g, keep, false);
    bool conv_seen = false, relu_seen = false;
    for (const auto& node : g.nodes) {
        for (const auto& out : node.proto.output()) {
            conv_seen = conv_seen || out == conv;
            relu_seen = relu_seen || out == relu;
        }
    }
    CHECK(conv_seen);
    CHECK(relu_seen);
    check_equivalent(model, {2, 3, 12, 12}, 1e-4, 1e-4, {conv, relu});
}

TEST_CASE("passes: observers that take any layout see channels-last values, with the same elements, untransposed") {
    const Model model = cnn_model();
    // The first Relu and the residual Add: inside the channels-last region (their readers take NHWC data).
    std::string relu, sum;
    for (const Node& node : model.graph.nodes) {
        if (node.op_type() == "Relu" && relu.empty()) relu = node.output(0);
        if (node.op_type() == "Add" && sum.empty()) sum = node.output(0);
    }
    const Shape input_shape = {2, 3, 12, 12};
    const Tensor input = Random(5).floats(input_shape);
    // What observers see with and without the freedom, and how many Transposes each compiled graph runs.
    auto observe = [&](bool any_layout, std::map<std::string, Tensor>& seen) {
        SessionOptions options;
        options.observed = {relu, sum};
        options.observe_any_layout = any_layout;
        auto session = Session::create(model, {{"input", input_shape}}, options);
        REQUIRE(session.ok());
        (*session)->set_observer([&](const std::string& name, const Tensor& value) { seen[name] = value.clone(); });
        REQUIRE((*session)->run({input}).ok());
        int transposes = 0;
        for (const auto& [node, implementation] : (*session)->kernel_choices()) {
            transposes += node.find("Transpose") != std::string::npos;
        }
        return transposes;
    };
    std::map<std::string, Tensor> nchw, free;
    const int nchw_transposes = observe(false, nchw);
    const int free_transposes = observe(true, free);
    CHECK(free_transposes < nchw_transposes);
    for (const std::string& name : {relu, sum}) {
        REQUIRE(free.count(name));
        const Tensor& a = nchw.at(name);
        const Tensor& b = free.at(name);
        REQUIRE(a.shape() == Shape{2, 8, 12, 12});
        REQUIRE(b.shape() == Shape{2, 12, 12, 8});  // the NHWC form itself
        // The same values, element for element, once transposed.
        int mismatches = 0;
        for (int64_t n = 0; n < 2; ++n)
            for (int64_t c = 0; c < 8; ++c)
                for (int64_t y = 0; y < 12; ++y)
                    for (int64_t x = 0; x < 12; ++x)
                        mismatches += a.data<float>()[((n * 8 + c) * 12 + y) * 12 + x] !=
                                      b.data<float>()[((n * 12 + y) * 12 + x) * 8 + c];
        CHECK(mismatches == 0);
    }
}

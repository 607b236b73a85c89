// Weight-only low-bit quantization: 4-bit packing against hand-built bytes, log-code rounding at its midpoints,
// the opset raise, and rewritten graphs run on the reference kernels against the decoded weights.
#include <doctest/doctest.h>

#include <cmath>

#include "model_builder.h"
#include "quantize/int4_pack.h"
#include "quantize/log_quant.h"
#include "quantize/opset_upgrade.h"
#include "quantize/weight_only_rewriter.h"

using namespace pare;
using pare_test::make_graph;
using pare_test::make_node;
using pare_test::value_info;

namespace {

std::vector<uint8_t> bytes_of(const Tensor& t) {
    const auto* p = static_cast<const uint8_t*>(t.raw());
    return std::vector<uint8_t>(p, p + t.nbytes());
}

Model model_of(Graph graph, int64_t opset) {
    Model model;
    model.header.set_ir_version(8);
    auto* import = model.header.add_opset_import();
    import->set_domain("");
    import->set_version(opset);
    model.graph = std::move(graph);
    return model;
}

// y = x . W for x [1, k] and W [k, n] given row-major, computed in double.
std::vector<double> matvec(const std::vector<float>& x, const std::vector<float>& w, int64_t k, int64_t n) {
    std::vector<double> y(n, 0.0);
    for (int64_t j = 0; j < n; ++j) {
        for (int64_t i = 0; i < k; ++i) y[j] += static_cast<double>(x[i]) * w[i * n + j];
    }
    return y;
}

}  // namespace

TEST_CASE("pack_4bit puts element 2i in the low nibble, 2i+1 in the high one") {
    auto packed = pack_4bit({1, -1, 7, -8, 0}, {5}, DType::kI4);
    REQUIRE(packed.ok());
    CHECK(packed->nbytes() == 3);
    CHECK(bytes_of(*packed) == std::vector<uint8_t>{0xF1, 0x87, 0x00});
    auto odd = pack_4bit({-3}, {1}, DType::kI4);  // one element: high nibble stays 0
    REQUIRE(odd.ok());
    CHECK(bytes_of(*odd) == std::vector<uint8_t>{0x0D});
    auto unsigned_packed = pack_4bit({15, 0, 9}, {3}, DType::kU4);
    REQUIRE(unsigned_packed.ok());
    CHECK(bytes_of(*unsigned_packed) == std::vector<uint8_t>{0x0F, 0x09});
    auto matrix = pack_4bit({1, 2, 3, 4, 5, 6}, {2, 3}, DType::kU4);  // row-major across rows
    REQUIRE(matrix.ok());
    CHECK(bytes_of(*matrix) == std::vector<uint8_t>{0x21, 0x43, 0x65});
}

TEST_CASE("pack_4bit refuses values outside the type and a wrong count") {
    CHECK(pack_4bit({8}, {1}, DType::kI4).status().code() == ErrorCode::kInvalidInput);
    CHECK(pack_4bit({-9}, {1}, DType::kI4).status().code() == ErrorCode::kInvalidInput);
    CHECK(pack_4bit({-1}, {1}, DType::kU4).status().code() == ErrorCode::kInvalidInput);
    CHECK(pack_4bit({1, 2}, {3}, DType::kI4).status().code() == ErrorCode::kInvalidInput);
    CHECK(pack_4bit({1}, {1}, DType::kI8).status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("unpack_4bit reads hand-built bytes, sign-extending int4") {
    Tensor signed_t(DType::kI4, {3});
    static_cast<uint8_t*>(signed_t.raw())[0] = 0x9A;  // elements 0xA, 0x9
    static_cast<uint8_t*>(signed_t.raw())[1] = 0xF7;  // element 0x7 (0xF is padding beyond the count)
    auto values = unpack_4bit(signed_t);
    REQUIRE(values.ok());
    CHECK(*values == std::vector<int8_t>{-6, -7, 7});
    Tensor unsigned_t(DType::kU4, {2});
    static_cast<uint8_t*>(unsigned_t.raw())[0] = 0x9A;
    auto u = unpack_4bit(unsigned_t);
    REQUIRE(u.ok());
    CHECK(*u == std::vector<int8_t>{10, 9});
    const std::vector<int8_t> all = {-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, -8};
    auto round_trip = unpack_4bit(*pack_4bit(all, {17}, DType::kI4));
    REQUIRE(round_trip.ok());
    CHECK(*round_trip == all);
    CHECK(unpack_4bit(Tensor(DType::kU8, {2})).status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("log_encode rounds to the nearer power of two in the linear domain") {
    // 4 bits: e = 1..7 is 2^0 .. 2^-6, the sign is bit 3.
    CHECK(log_encode(1.0f, 1.0f, 4) == 1);
    CHECK(log_encode(0.75f, 1.0f, 4) == 1);    // midpoint of 1 and 0.5: away from zero
    CHECK(log_encode(0.7499f, 1.0f, 4) == 2);  // just below: 0.5
    CHECK(log_encode(0.375f, 1.0f, 4) == 2);   // midpoint of 0.5 and 0.25
    CHECK(log_encode(0.3749f, 1.0f, 4) == 3);
    CHECK(log_encode(0.5f, 1.0f, 4) == 2);
    CHECK(log_encode(1.0f / 64, 1.0f, 4) == 7);   // the smallest level
    CHECK(log_encode(1.0f / 128, 1.0f, 4) == 7);  // midpoint of 2^-6 and 0
    CHECK(log_encode(0.0078f, 1.0f, 4) == 0);     // just below it
    CHECK(log_encode(0.0f, 1.0f, 4) == 0);
    CHECK(log_encode(-0.75f, 1.0f, 4) == 9);   // sign bit + e = 1
    CHECK(log_encode(-0.3f, 1.0f, 4) == 11);   // -0.25
    CHECK(log_encode(-0.001f, 1.0f, 4) == 0);  // zero carries no sign
    CHECK(log_encode(3.0f, 1.0f, 4) == 1);     // above the scale: saturates at 2^0
    CHECK(log_encode(6.0f, 8.0f, 4) == 1);     // r = 0.75 with a scale
    CHECK(log_encode(NAN, 1.0f, 4) == 0);
    // 3 bits: levels 1, 0.5, 0.25; zero below 0.125.
    CHECK(log_encode(0.125f, 1.0f, 3) == 3);
    CHECK(log_encode(0.12f, 1.0f, 3) == 0);
    CHECK(log_encode(-1.0f, 1.0f, 3) == 5);
    // 8 bits: e = 127 is 2^-126.
    CHECK(log_encode(std::ldexp(1.0f, -126), 1.0f, 8) == 127);
}

TEST_CASE("log_codebook decodes every code") {
    CHECK(log_codebook(3) == std::vector<float>{0.0f, 1.0f, 0.5f, 0.25f, 0.0f, -1.0f, -0.5f, -0.25f});
    const auto table = log_codebook(4);
    REQUIRE(table.size() == 16);
    CHECK(table[7] == 1.0f / 64);
    CHECK(table[15] == -1.0f / 64);
    CHECK(table[8] == 0.0f);
    for (int code = 0; code < 16; ++code) {
        if (table[code] != 0.0f) CHECK(log_encode(table[code], 1.0f, 4) == code);  // every level encodes to itself
    }
}

TEST_CASE("raise_onnx_opset moves Reduce axes to an input and refuses changed ops") {
    Graph graph = make_graph({value_info("x", DType::kF32, {2, 3})}, {value_info("y", DType::kF32, {2, 1})});
    Node reduce = make_node("ReduceMean", {"x"}, {"y"});
    reduce.set_attr_ints("axes", {1});
    graph.insert_node(0, reduce);
    Model model = model_of(graph, 13);
    REQUIRE(raise_onnx_opset(model, 21).ok());
    CHECK(model.opset() == 21);
    CHECK(model.header.ir_version() == 10);
    const Node& raised = model.graph.nodes[0];
    CHECK_FALSE(raised.has_attribute("axes"));
    REQUIRE(raised.num_inputs() == 2);
    CHECK(tensor_to_int64s(*model.graph.constant(raised.input(1))) == std::vector<int64_t>{1});
    auto y = pare_test::run_graph(model.graph, 21, {tensor_from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3})});
    REQUIRE(y.ok());
    CHECK(tensor_to_floats((*y)[0]) == std::vector<float>{2.0f, 5.0f});

    Graph grouped = make_graph({value_info("x", DType::kF32, {1, 4, 2})}, {value_info("y", DType::kF32, {1, 4, 2})});
    grouped.set_initializer("s", tensor_from_vector<float>({1, 1}, {2}));
    grouped.set_initializer("b", tensor_from_vector<float>({0, 0}, {2}));
    Node norm = make_node("GroupNormalization", {"x", "s", "b"}, {"y"});
    norm.set_attr_int("num_groups", 2);
    grouped.insert_node(0, norm);
    Model refused = model_of(grouped, 18);
    const Status status = raise_onnx_opset(refused, 21);
    CHECK(status.code() == ErrorCode::kUnsupported);
    CHECK(status.message().find("GroupNormalization") != std::string::npos);
    CHECK(refused.opset() == 18);
}

TEST_CASE("int4 block-wise weights decode to the rounded weights, blocks along K") {
    const int64_t k = 40, n = 3;  // two blocks of 32 along K, the second partial
    std::vector<float> w(k * n), x(k);
    for (int64_t i = 0; i < k * n; ++i) w[i] = std::sin(0.7f * static_cast<float>(i)) * (i % 7 == 0 ? 3.0f : 1.0f);
    for (int64_t i = 0; i < k; ++i) x[i] = std::cos(0.3f * static_cast<float>(i));
    Graph graph = make_graph({value_info("x", DType::kF32, {1, k})}, {value_info("y", DType::kF32, {1, n})});
    graph.set_initializer("w", tensor_from_vector<float>(w, {k, n}));
    graph.insert_node(0, make_node("MatMul", {"x", "w"}, {"y"}));
    Model model = model_of(graph, 13);
    WeightOnlySpec spec;
    spec.block_size = 32;
    auto layers = rewrite_weight_only(model, spec);
    REQUIRE(layers.ok());
    REQUIRE(layers->size() == 1);
    CHECK(model.opset() == 21);
    CHECK(model.graph.nodes.size() == 2);
    const Node& dq = model.graph.nodes[0];
    CHECK(dq.op_type() == "DequantizeLinear");
    CHECK(dq.attr_int("axis", -1) == 0);
    CHECK(dq.attr_int("block_size", 0) == 32);
    const Tensor q = *model.graph.constant(dq.input(0));
    const Tensor scale = *model.graph.constant(dq.input(1));
    CHECK(q.dtype() == DType::kI4);
    CHECK(scale.shape() == Shape{2, 3});
    CHECK(model.graph.constant("w") == std::nullopt);  // the float weight is gone
    // Each block's scale maps its extreme to -8 or 7 without clipping.
    std::vector<float> decoded(k * n);
    for (int64_t i = 0; i < k * n; ++i) {
        const float s = scale.data<float>()[(i / n / 32) * n + i % n];
        decoded[i] = static_cast<float>(q.element_as_double(i)) * s;
        CHECK(std::fabs(decoded[i] - w[i]) <= 0.5f * s + 1e-6f);
    }
    auto y = pare_test::run_graph(model.graph, 21, {tensor_from_vector<float>(x, {1, k})});
    REQUIRE(y.ok());
    const auto expected = matvec(x, decoded, k, n);
    for (int64_t j = 0; j < n; ++j) CHECK((*y)[0].data<float>()[j] == doctest::Approx(expected[j]).epsilon(1e-5));
    CHECK((*layers)[0].weight_sqnr_db > 15.0);
}

TEST_CASE("int4 Conv kernels block over input channels x kernel, or per output channel with block size 0") {
    std::vector<float> w(4 * 2 * 3 * 3);
    for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(1.3f * static_cast<float>(i));
    for (int64_t block : {int64_t(8), int64_t(0)}) {
        Graph graph =
            make_graph({value_info("x", DType::kF32, {1, 2, 5, 5})}, {value_info("y", DType::kF32, {1, 4, 3, 3})});
        graph.set_initializer("w", tensor_from_vector<float>(w, {4, 2, 3, 3}));
        graph.insert_node(0, make_node("Conv", {"x", "w"}, {"y"}));
        Model model = model_of(graph, 13);
        WeightOnlySpec spec;
        spec.block_size = block;
        REQUIRE(rewrite_weight_only(model, spec).ok());
        const Node& dq = model.graph.nodes[0];
        const Tensor scale = *model.graph.constant(dq.input(1));
        if (block) {
            CHECK(scale.shape() == Shape{4, 3});  // [O, ceil(18 / 8)] over the flattened kernel
            CHECK(model.graph.nodes[1].op_type() == "Reshape");
        } else {
            CHECK(scale.shape() == Shape{4});
            CHECK(dq.attr_int("axis", -1) == 0);
            CHECK(model.graph.nodes[1].op_type() == "Conv");
        }
        std::vector<float> x(50, 1.0f);
        auto y = pare_test::run_graph(model.graph, 21, {tensor_from_vector<float>(x, {1, 2, 5, 5})});
        REQUIRE(y.ok());
        CHECK((*y)[0].shape() == Shape{1, 4, 3, 3});
    }
}

TEST_CASE("log weights decode through Cast, Gather and Mul to sign x scale x 2^-k") {
    const int64_t k = 6, n = 2;
    const std::vector<float> w = {1.0f, -0.5f, 0.7f, 0.3f, -0.26f, 0.1f, 0.01f, -1.0f, 0.0f, 0.55f, -0.74f, 0.2f};
    for (int bits : {4, 6}) {
        Graph graph = make_graph({value_info("x", DType::kF32, {1, k})}, {value_info("y", DType::kF32, {1, n})});
        graph.set_initializer("w", tensor_from_vector<float>(w, {k, n}));
        graph.insert_node(0, make_node("MatMul", {"x", "w"}, {"y"}));
        Model model = model_of(graph, 13);
        WeightOnlySpec spec;
        spec.scheme = WeightOnlyScheme::kLog;
        spec.bits = bits;
        auto layers = rewrite_weight_only(model, spec);
        REQUIRE(layers.ok());
        CHECK(model.opset() == (bits <= 4 ? 21 : 13));  // UINT4 codes need opset 21, UINT8 codes do not
        REQUIRE(model.graph.nodes.size() == 4);
        CHECK(model.graph.nodes[0].op_type() == "Cast");
        CHECK(model.graph.nodes[1].op_type() == "Gather");
        CHECK(model.graph.nodes[2].op_type() == "Mul");
        const Tensor codes = *model.graph.constant(model.graph.nodes[0].input(0));
        const Tensor table = *model.graph.constant(model.graph.nodes[1].input(0));
        const Tensor scale = *model.graph.constant(model.graph.nodes[2].input(1));
        CHECK(codes.dtype() == (bits <= 4 ? DType::kU4 : DType::kU8));
        CHECK(scale.shape() == Shape{1, n});  // broadcasts over the output channels of x . W
        std::vector<float> decoded(k * n);
        for (int64_t i = 0; i < k * n; ++i) {
            const float s = scale.data<float>()[i % n];
            const auto code = static_cast<int64_t>(codes.element_as_double(i));
            decoded[i] = table.data<float>()[code] * s;
            CHECK(code == log_encode(w[i], s, bits));
        }
        const std::vector<float> x = {1, 2, 3, 4, 5, 6};
        auto y = pare_test::run_graph(model.graph, model.opset(), {tensor_from_vector<float>(x, {1, k})});
        REQUIRE(y.ok());
        const auto expected = matvec(x, decoded, k, n);
        for (int64_t j = 0; j < n; ++j) CHECK((*y)[0].data<float>()[j] == doctest::Approx(expected[j]).epsilon(1e-5));
    }
}

TEST_CASE("per-layer rungs: int8 per output channel behind DequantizeLinear, float left alone, GPTQ on both") {
    const int64_t k = 6, n = 3;
    std::vector<float> w(k * n);
    for (int64_t i = 0; i < k * n; ++i) w[i] = std::sin(0.9f * static_cast<float>(i)) * (i == 4 ? 5.0f : 1.0f);
    Graph graph = make_graph({value_info("x", DType::kF32, {1, k})}, {value_info("z", DType::kF32, {1, n})});
    graph.set_initializer("w1", tensor_from_vector<float>(w, {k, n}));
    graph.set_initializer("w2", tensor_from_vector<float>(std::vector<float>(n * n, 0.5f), {n, n}));
    Node first = make_node("MatMul", {"x", "w1"}, {"y"});
    first.proto.set_name("first");
    Node second = make_node("MatMul", {"y", "w2"}, {"z"});
    second.proto.set_name("second");
    graph.insert_node(0, first);
    graph.insert_node(1, second);

    // int8 alone needs per-axis DequantizeLinear (opset 13): the model keeps its opset.
    Model model = model_of(graph, 13);
    WeightOnlySpec spec;
    spec.rungs = {{"first", WeightOnlyRung::kInt8}, {"second", WeightOnlyRung::kFloat}};
    auto layers = rewrite_weight_only(model, spec);
    REQUIRE(layers.ok());
    REQUIRE(layers->size() == 1);
    CHECK((*layers)[0].node == "first");
    CHECK((*layers)[0].int8);
    CHECK(model.opset() == 13);
    REQUIRE(model.graph.nodes.size() == 3);
    const Node& dq = model.graph.nodes[0];
    CHECK(dq.op_type() == "DequantizeLinear");
    CHECK(dq.attr_int("axis", -1) == 1);  // [K, N]: the output channels are axis 1
    CHECK_FALSE(dq.has_attribute("block_size"));
    const Tensor q = *model.graph.constant(dq.input(0));
    const Tensor scale = *model.graph.constant(dq.input(1));
    CHECK(q.dtype() == DType::kI8);
    CHECK(scale.shape() == Shape{n});
    for (int64_t j = 0; j < n; ++j) {
        float largest = 0.0f;
        for (int64_t i = 0; i < k; ++i) largest = std::max(largest, std::fabs(w[i * n + j]));
        CHECK(scale.data<float>()[j] == doctest::Approx(largest / 127.0f));
    }
    for (int64_t i = 0; i < k * n; ++i) {
        CHECK(std::fabs(q.element_as_double(i)) <= 127.0);
        CHECK(std::fabs(q.element_as_double(i) * scale.data<float>()[i % n] - w[i]) <=
              0.5 * scale.data<float>()[i % n] + 1e-6);
    }
    CHECK(model.graph.nodes[2].input(1) == "w2");  // float: the initializer itself

    // The scheme's layer next to it raises the opset for its 4-bit codes; GPTQ rounds both with their Hessians.
    LayerHessians hessians;
    for (const auto& [output, cols] : {std::make_pair("y", k), std::make_pair("z", n)}) {
        LayerHessian& h = hessians[output];
        h.cols = cols;
        h.vectors = 1;
        h.sums.assign(1, std::vector<double>(static_cast<size_t>(cols * cols), 0.0));
        for (int64_t i = 0; i < cols; ++i) {
            for (int64_t j = 0; j < cols; ++j) h.sums[0][i * cols + j] = i == j ? 2.0 : 0.9;  // correlated inputs
        }
    }
    Model both = model_of(graph, 13);
    spec.rungs = {{"first", WeightOnlyRung::kInt8}};
    spec.hessians = &hessians;
    layers = rewrite_weight_only(both, spec);
    REQUIRE(layers.ok());
    REQUIRE(layers->size() == 2);
    CHECK(both.opset() == 21);
    CHECK((*layers)[0].int8);
    CHECK_FALSE((*layers)[1].int8);
    for (const auto& layer : *layers) CHECK(layer.gptq);
    CHECK((*layers)[0].gptq_output_error <= (*layers)[0].rtn_output_error);
}

// Every op with a non-reference kernel, on random shapes and attributes from a fixed seed: the fast kernel against
// the reference kernel. Parameterized on the backend (run_backend_cases), so a CUDA backend reuses the cases.
//
// Tolerances: float32 products and sums (Conv, Gemm, MatMul, pools, normalizations) rtol 1e-4 / atol 1e-4 (the two
// sum in different orders); transcendental activations rtol 2e-5 / atol 2e-6 (oneDNN's vectorized exp/tanh/erf
// are within a few ulps of the double-precision reference); data movement, max pooling, Quantize/DequantizeLinear
// exact; QLinearConv / QLinearMatMul within 1 unit of the output's quantum (the requantization product is rounded
// in float by oneDNN, in double by the reference).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "backend_test_util.h"
#include "graph/fused_ops.h"

using namespace pare;
using pare_test::Random;

namespace {

struct OpCase {
    OpCase(std::string what, Node node) : what(std::move(what)), node(std::move(node)) {}

    std::string what;
    Node node;
    int64_t opset = 17;
    std::vector<Tensor> inputs;
    std::vector<bool> constant;  // inputs given to prepare as values (weights)
    double rtol = 1e-4;
    double atol = 1e-4;
    bool expect_native = true;  // false where the fast kernel is meant to hand over to the reference kernel
};

std::string ints(const std::vector<int64_t>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s + "]";
}

Tensor to_channels_last(const Tensor& t) {
    const Shape& s = t.shape();
    Tensor out(t.dtype(), channels_last_shape(s));
    const int64_t n = s[0], c = s[1], plane = t.numel() / (n * c);
    const size_t bytes = dtype_storage_bytes(t.dtype(), 1);
    for (int64_t b = 0; b < n; ++b)
        for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t i = 0; i < plane; ++i)
                std::memcpy(static_cast<char*>(out.raw()) + ((b * plane + i) * c + ch) * bytes,
                            static_cast<const char*>(t.raw()) + ((b * c + ch) * plane + i) * bytes, bytes);
    return out;
}

Activation random_activation(Random& r, bool quantized) {
    if (quantized) {
        return r.coin() ? Activation{ActivationKind::kRelu, 0, 0} : Activation{ActivationKind::kClip, 0.0f, 3.0f};
    }
    const std::vector<Activation> all = {{ActivationKind::kNone, 0, 0},
                                         {ActivationKind::kRelu, 0, 0},
                                         {ActivationKind::kLeakyRelu, 0.1f, 0},
                                         {ActivationKind::kClip, -0.5f, 1.5f},
                                         {ActivationKind::kSigmoid, 0, 0},
                                         {ActivationKind::kTanh, 0, 0},
                                         {ActivationKind::kHardSigmoid, 0.2f, 0.5f},
                                         {ActivationKind::kHardSwish, 0, 0},
                                         {ActivationKind::kGelu, 0, 0},
                                         {ActivationKind::kGeluTanh, 0, 0}};
    return r.pick(all);
}

// Window attributes for a forward op with spatial input `in` and kernel `kernel`; fills the attributes and returns a
// description. Keeps every output dimension at least 1.
std::string random_window(Random& r, Node& node, const Shape& in, const Shape& kernel, bool dilations) {
    std::vector<int64_t> strides, dil, begin, end;
    for (size_t a = 0; a < in.size(); ++a) {
        strides.push_back(r.integer(1, 2));
        dil.push_back(dilations ? r.integer(1, 2) : 1);
        const int64_t span = (kernel[a] - 1) * dil.back() + 1;
        begin.push_back(r.integer(0, std::min<int64_t>(2, span - 1)));
        end.push_back(r.integer(0, std::min<int64_t>(2, span - 1)));
    }
    node.set_attr_ints("strides", strides);
    if (dilations) node.set_attr_ints("dilations", dil);
    const int64_t mode = r.integer(0, 5);
    if (mode == 0) {
        node.set_attr_string("auto_pad", r.pick(std::vector<std::string>{"SAME_UPPER", "SAME_LOWER", "VALID"}));
    } else {
        std::vector<int64_t> pads = begin;
        pads.insert(pads.end(), end.begin(), end.end());
        node.set_attr_ints("pads", pads);
    }
    return "strides " + ints(strides) + " dilations " + ints(dil) +
           (mode == 0 ? " " + node.attr_string("auto_pad", "") : " pads " + ints(node.attr_ints("pads")));
}

Shape spatial_input(Random& r, const Shape& kernel, int64_t extra) {
    Shape in;
    for (int64_t k : kernel) in.push_back(2 * k + r.integer(0, extra));  // room for dilation 2
    return in;
}

void conv_cases(Random& r, std::vector<OpCase>& cases) {
    for (int i = 0; i < 48; ++i) {
        const size_t dims = i % 12 == 10 ? 1 : i % 12 == 11 ? 3 : 2;
        const int64_t kind = r.integer(0, 2);  // dense, two groups, depthwise
        const int64_t group = kind == 0 ? 1 : kind == 1 ? 2 : r.integer(2, 8);
        const int64_t channels = kind == 2 ? group : group * r.integer(1, 5);
        const int64_t filters = kind == 2 ? group * r.integer(1, 2) : group * r.integer(1, 6);
        Shape kernel;
        for (size_t a = 0; a < dims; ++a) kernel.push_back(r.integer(1, 3));
        const Shape spatial = spatial_input(r, kernel, dims == 3 ? 2 : 6);
        const bool is_private = i >= 24;
        OpCase c{"Conv", pare_test::op_node("Conv", 3, 1, is_private ? kPareDomain : "")};
        c.node.set_attr_int("group", group);
        c.what = "Conv group " + std::to_string(group) + " kernel " + ints(kernel) + " input " + ints(spatial) + " " +
                 random_window(r, c.node, spatial, kernel, true);
        Shape x = {r.integer(1, 3), channels};
        x.insert(x.end(), spatial.begin(), spatial.end());
        Shape w = {filters, channels / group};
        w.insert(w.end(), kernel.begin(), kernel.end());
        c.inputs = {r.floats(x), r.floats(w, -1, 1), r.coin() ? r.floats({filters}) : Tensor()};
        c.constant = {false, i % 8 != 7, true};
        if (is_private) {
            const Activation act = random_activation(r, false);
            set_activation(c.node, act);
            c.what = "private " + c.what + " activation " + c.node.attr_string("activation", "none");
            const bool channels_last = dims == 2 && r.coin();
            if (channels_last) {
                c.node.set_attr_int("channels_last", 1);
                c.inputs[0] = to_channels_last(c.inputs[0]);
                c.what += " channels_last";
            }
            if (r.coin()) {
                // Z: the output's shape, found by running the reference once.
                c.node.proto.add_input("in3");
                const KernelEntry* reference = KernelRegistry::instance().reference(kPareDomain, "Conv");
                auto probe = pare_test::run_kernel(*reference, c.node, c.opset,
                                                   {c.inputs[0], c.inputs[1], c.inputs[2], Tensor()}, c.constant);
                if (!probe.status.ok()) continue;
                c.inputs.push_back(r.floats(probe.outputs[0].shape()));
                c.constant.push_back(false);
                c.what += " with Z";
            }
        }
        cases.push_back(std::move(c));
    }
}

void conv_transpose_cases(Random& r, std::vector<OpCase>& cases) {
    for (int i = 0; i < 16; ++i) {
        const int64_t group = r.coin() ? 1 : 2;
        const int64_t channels = group * r.integer(1, 3), per_group_out = r.integer(1, 3);
        const Shape kernel = {r.integer(1, 3), r.integer(1, 3)};
        const Shape spatial = {r.integer(2, 6), r.integer(2, 6)};
        OpCase c{"ConvTranspose", pare_test::op_node("ConvTranspose", 3)};
        c.node.set_attr_int("group", group);
        std::vector<int64_t> strides = {r.integer(1, 3), r.integer(1, 3)}, pads, output_padding;
        for (int a = 0; a < 4; ++a) pads.push_back(r.integer(0, kernel[a % 2] - 1));
        for (int a = 0; a < 2; ++a) output_padding.push_back(r.integer(0, strides[a] - 1));
        c.node.set_attr_ints("strides", strides);
        c.node.set_attr_ints("pads", pads);
        c.node.set_attr_ints("output_padding", output_padding);
        c.what = "ConvTranspose group " + std::to_string(group) + " kernel " + ints(kernel) + " strides " +
                 ints(strides) + " pads " + ints(pads) + " output_padding " + ints(output_padding);
        c.inputs = {r.floats({r.integer(1, 2), channels, spatial[0], spatial[1]}),
                    r.floats({channels, per_group_out, kernel[0], kernel[1]}, -1, 1),
                    r.coin() ? r.floats({group * per_group_out}) : Tensor()};
        c.constant = {false, r.coin(), true};
        cases.push_back(std::move(c));
    }
}

void gemm_cases(Random& r, std::vector<OpCase>& cases) {
    for (int i = 0; i < 24; ++i) {
        const int64_t m = r.integer(1, 17), k = r.integer(1, 33), n = r.integer(1, 19);
        const bool trans_a = r.coin(), trans_b = r.coin(), is_private = i % 3 == 2;
        OpCase c{"Gemm", pare_test::op_node("Gemm", 3, 1, is_private ? kPareDomain : "")};
        c.opset = 13;
        c.node.set_attr_int("transA", trans_a);
        c.node.set_attr_int("transB", trans_b);
        const float alpha = r.coin() ? 1.0f : 0.5f, beta = r.coin() ? 1.0f : 2.0f;
        c.node.set_attr_float("alpha", alpha);
        c.node.set_attr_float("beta", beta);
        const std::vector<Shape> c_shapes = {{}, {n}, {1, n}, {m, n}, {m, 1}, {1}};
        const int64_t c_kind = r.integer(0, 6);  // 6: no C
        c.inputs = {r.floats(trans_a ? Shape{k, m} : Shape{m, k}), r.floats(trans_b ? Shape{n, k} : Shape{k, n}),
                    c_kind < 6 ? r.floats(c_shapes[c_kind]) : Tensor()};
        const bool c_constant = r.coin();
        c.constant = {false, r.coin(), c_constant};
        c.expect_native = c_kind == 6 || beta == 1.0f || c_constant;
        c.what = "Gemm " + std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n) + " transA " +
                 std::to_string(trans_a) + " transB " + std::to_string(trans_b) + " alpha " + std::to_string(alpha) +
                 " beta " + std::to_string(beta) + " C " + (c_kind < 6 ? ints(c_shapes[c_kind]) : "none");
        if (is_private) {
            set_activation(c.node, random_activation(r, false));
            c.what = "private " + c.what + " activation " + c.node.attr_string("activation", "none");
        }
        cases.push_back(std::move(c));
    }
}

void matmul_cases(Random& r, std::vector<OpCase>& cases) {
    const int64_t k = 7;
    const std::vector<std::pair<Shape, Shape>> shapes = {
        {{5, k}, {k, 6}},       {{k}, {k, 4}},          {{3, k}, {k}},          {{k}, {k}},
        {{2, 5, k}, {k, 6}},    {{2, 3, 5, k}, {k, 4}}, {{2, 5, k}, {2, k, 3}}, {{2, 1, 5, k}, {3, k, 4}},
        {{1, 5, k}, {4, k, 2}}, {{4, 5, k}, {1, k, 2}}, {{5, k}, {3, k, 2}},    {{49, 64}, {64, 64}}};
    for (size_t i = 0; i < shapes.size() * 2; ++i) {
        const auto& [a, b] = shapes[i % shapes.size()];
        const bool is_private = i >= shapes.size();
        OpCase c{"MatMul", pare_test::op_node("MatMul", is_private ? 3 : 2, 1, is_private ? kPareDomain : "")};
        c.inputs = {r.floats(a), r.floats(b)};
        c.constant = {false, r.coin()};
        c.what = "MatMul " + ints(a) + " x " + ints(b);
        if (is_private) {
            set_activation(c.node, random_activation(r, false));
            const int64_t n = b.size() == 1 ? 1 : b.back();
            if (b.size() > 1 && r.coin()) {
                c.inputs.push_back(r.floats({n}));
                c.constant.push_back(true);
                c.what += " bias " + ints({n});
            } else {
                c.node.proto.mutable_input()->RemoveLast();
            }
            c.what = "private " + c.what + " activation " + c.node.attr_string("activation", "none");
        }
        cases.push_back(std::move(c));
    }
}

void pool_cases(Random& r, std::vector<OpCase>& cases) {
    for (int i = 0; i < 40; ++i) {
        const int64_t kind = i % 4;  // MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool
        const char* op = kind == 0   ? "MaxPool"
                         : kind == 1 ? "AveragePool"
                         : kind == 2 ? "GlobalMaxPool"
                                     : "GlobalAveragePool";
        const bool is_private = i >= 24;
        OpCase c{op, pare_test::op_node(op, 1, 1, is_private ? kPareDomain : "")};
        c.rtol = c.atol = kind == 0 || kind == 2 ? 0.0 : 1e-5;
        const size_t dims = is_private ? 2 : i % 5 == 4 ? 1 : 2;
        Shape kernel;
        for (size_t a = 0; a < dims; ++a) kernel.push_back(r.integer(1, 3));
        const Shape spatial = spatial_input(r, kernel, 5);
        Shape x = {r.integer(1, 2), r.integer(1, 6)};
        x.insert(x.end(), spatial.begin(), spatial.end());
        c.what = std::string(op) + " input " + ints(x);
        if (kind < 2) {
            c.node.set_attr_ints("kernel_shape", kernel);
            c.what += " kernel " + ints(kernel) + " " + random_window(r, c.node, spatial, kernel, kind == 0);
            if (r.coin() && !c.node.has_attribute("auto_pad")) {
                c.node.set_attr_int("ceil_mode", 1);
                c.what += " ceil_mode";
            }
            if (kind == 1 && r.coin()) {
                c.node.set_attr_int("count_include_pad", 1);
                c.what += " count_include_pad";
                // oneDNN counts ceil_mode's extra padding in the divisor; the kernel hands that case over.
                c.expect_native = c.node.attr_int("ceil_mode", 0) == 0;
            }
        }
        const DType dtype = kind == 0 && r.coin() ? r.pick(std::vector<DType>{DType::kU8, DType::kI8}) : DType::kF32;
        c.inputs = {dtype == DType::kF32
                        ? r.floats(x)
                        : r.integers(dtype, x, dtype == DType::kU8 ? 0 : -128, dtype == DType::kU8 ? 255 : 127)};
        c.what += " " + dtype_name(dtype);
        if (is_private) {
            c.node.set_attr_int("channels_last", 1);
            c.inputs[0] = to_channels_last(c.inputs[0]);
            c.what = "private " + c.what + " channels_last";
        }
        c.constant = {false};
        cases.push_back(std::move(c));
    }
}

void normalization_cases(Random& r, std::vector<OpCase>& cases) {
    for (int i = 0; i < 24; ++i) {
        const int64_t rank = r.integer(1, 4);
        Shape x;
        for (int64_t a = 0; a < rank; ++a) x.push_back(r.integer(1, 9));
        const int64_t axis = r.integer(-rank, rank - 1);
        const bool log = r.coin();
        OpCase c{log ? "LogSoftmax" : "Softmax", pare_test::op_node(log ? "LogSoftmax" : "Softmax", 1)};
        c.opset = r.coin() ? 13 : 11;
        c.node.set_attr_int("axis", axis);
        c.inputs = {r.floats(x, -5, 5)};
        c.constant = {false};
        c.rtol = 2e-5;
        c.atol = 2e-6;
        c.what = c.node.op_type() + " opset " + std::to_string(c.opset) + " input " + ints(x) + " axis " +
                 std::to_string(axis);
        cases.push_back(std::move(c));
    }
    for (int i = 0; i < 12; ++i) {
        const int64_t rank = r.integer(2, 4);
        Shape x;
        for (int64_t a = 0; a < rank; ++a) x.push_back(r.integer(1, 12));
        const int64_t axis = r.integer(1, rank - 1);
        const bool bias = r.coin(), statistics = r.coin();
        OpCase c{"LayerNormalization", pare_test::op_node("LayerNormalization", bias ? 3 : 2, statistics ? 3 : 1)};
        c.node.set_attr_int("axis", axis - (r.coin() ? rank : 0));
        const Shape normalized(x.begin() + axis, x.end());
        c.inputs = {r.floats(x), r.floats(normalized), bias ? r.floats(normalized) : Tensor()};
        if (!bias) c.inputs.pop_back();
        c.constant = {false, true, true};
        c.what = "LayerNormalization input " + ints(x) + " axis " + std::to_string(axis) + (bias ? " bias" : "") +
                 (statistics ? " with statistics" : "");
        cases.push_back(std::move(c));
    }
    for (int i = 0; i < 6; ++i) {
        const Shape x = {r.integer(1, 3), r.integer(1, 8), r.integer(1, 6), r.integer(1, 6)};
        OpCase c{"BatchNormalization", pare_test::op_node("BatchNormalization", 5)};
        c.opset = 15;
        c.inputs = {r.floats(x), r.floats({x[1]}), r.floats({x[1]}), r.floats({x[1]}), r.floats({x[1]}, 0.1f, 2.0f)};
        c.constant = {false, true, true, true, true};
        c.what = "BatchNormalization input " + ints(x);
        cases.push_back(std::move(c));
    }
}

void elementwise_cases(Random& r, std::vector<OpCase>& cases) {
    const std::vector<std::string> unary = {"Relu", "LeakyRelu", "Sigmoid",   "Tanh",     "Exp",  "Sqrt", "Abs",
                                            "Neg",  "Elu",       "HardSwish", "Softplus", "Gelu", "Clip"};
    for (const auto& op : unary) {
        const Shape x = {r.integer(1, 4), r.integer(1, 50)};
        const bool positive = op == "Sqrt";
        OpCase c{op, pare_test::op_node(op, op == "Clip" ? 3 : 1)};
        c.opset = 20;  // Gelu
        c.inputs = {positive ? r.floats(x, 0.05f, 6.0f) : r.floats(x, -6.0f, 6.0f)};
        if (op == "Clip") {
            c.inputs.push_back(tensor_from_vector<float>({-1.0f}, {}));
            c.inputs.push_back(tensor_from_vector<float>({2.5f}, {}));
        }
        c.constant = {false, true, true};
        c.rtol = 2e-5;
        c.atol = 2e-6;
        c.what = op + " input " + ints(x);
        cases.push_back(std::move(c));
    }
    const std::vector<std::string> binary = {"Add", "Sub", "Mul", "Div", "Max", "Min"};
    // Large enough for several threads: a bias over the last two dims, and a scalar first operand.
    const std::vector<std::pair<Shape, Shape>> shapes = {
        {{2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {4}}, {{2, 3, 4}, {3, 1}},          {{4}, {2, 3, 4}},
        {{2, 1, 4}, {1, 3, 1}}, {{5}, {}},        {{3, 70, 200}, {1, 70, 200}}, {{}, {3, 70, 200}}};
    for (const auto& op : binary) {
        for (const auto& [a, b] : shapes) {
            OpCase c{op, pare_test::op_node(op, 2)};
            c.opset = 13;
            c.inputs = {r.floats(a), op == "Div" ? r.floats(b, 0.5f, 3.0f) : r.floats(b)};
            c.constant = {false, false};
            c.rtol = 1e-6;
            c.atol = 0.0;
            // Only a broadcast of both operands is left to the reference kernel.
            c.expect_native = a != Shape{2, 1, 4};
            c.what = op + " " + ints(a) + " and " + ints(b);
            cases.push_back(std::move(c));
        }
    }
}

void transpose_cases(Random& r, std::vector<OpCase>& cases) {
    for (int i = 0; i < 16; ++i) {
        const int64_t rank = r.integer(1, 5);
        Shape x;
        for (int64_t a = 0; a < rank; ++a) x.push_back(r.integer(1, 6));
        std::vector<int64_t> perm(rank);
        std::iota(perm.begin(), perm.end(), 0);
        for (int64_t a = rank - 1; a > 0; --a) std::swap(perm[a], perm[r.integer(0, a)]);
        const DType dtype = r.pick(std::vector<DType>{DType::kF32, DType::kU8, DType::kI64, DType::kF16});
        OpCase c{"Transpose", pare_test::op_node("Transpose", 1)};
        if (r.integer(0, 3) > 0) c.node.set_attr_ints("perm", perm);
        c.inputs = {r.integers(dtype, x, 0, 100)};
        c.constant = {false};
        c.rtol = c.atol = 0.0;
        c.what = "Transpose " + dtype_name(dtype) + " " + ints(x) + " perm " + ints(c.node.attr_ints("perm"));
        cases.push_back(std::move(c));
    }
}

// QLinearConv / QLinearMatMul inputs 1..7 after x (input 0) and w (input 3).
void quantized_params(Random& r, OpCase& c, const Tensor& x, const Tensor& w, int64_t channels, bool per_channel) {
    const DType y_type = r.coin() ? DType::kU8 : DType::kI8;
    const int64_t x_zero = x.dtype() == DType::kU8 ? r.integer(0, 255) : r.integer(-128, 127);
    Tensor w_scale = r.floats({per_channel ? channels : 1}, 0.002f, 0.02f);
    const bool u8_weights = w.dtype() == DType::kU8;
    c.inputs = {x,
                tensor_from_vector<float>({r.uniform(0.01f, 0.05f)}, {}),
                r.integers(x.dtype(), {}, x_zero, x_zero),
                w,
                w_scale,
                u8_weights ? r.integers(DType::kU8, w_scale.shape(), 128, 128) : Tensor(DType::kI8, w_scale.shape()),
                tensor_from_vector<float>({r.uniform(0.02f, 0.2f)}, {}),
                r.integers(y_type, {}, y_type == DType::kU8 ? 0 : -128, y_type == DType::kU8 ? 255 : 127)};
    c.constant = {false, true, true, true, true, true, true, true, true};
    c.rtol = 0.0;
    c.atol = 1.0;
}

void quantized_cases(Random& r, std::vector<OpCase>& cases) {
    for (int i = 0; i < 24; ++i) {
        const bool is_private = i % 2 == 1, depthwise = i % 4 == 2;
        const int64_t group = depthwise ? r.integer(2, 8) : 1;
        const int64_t channels = depthwise ? group : r.integer(1, 8), filters = depthwise ? group : r.integer(1, 8);
        const Shape kernel = {r.integer(1, 3), r.integer(1, 3)};
        const Shape spatial = spatial_input(r, kernel, 5);
        OpCase c{"QLinearConv", pare_test::op_node("QLinearConv", 9, 1, is_private ? kPareDomain : "")};
        c.node.set_attr_int("group", group);
        c.what = "QLinearConv group " + std::to_string(group) + " kernel " + ints(kernel) + " input " + ints(spatial) +
                 " " + random_window(r, c.node, spatial, kernel, false);
        const DType x_type = r.coin() ? DType::kU8 : DType::kI8;
        const bool u8_weights = i % 6 == 5;
        Tensor x = r.integers(x_type, {r.integer(1, 2), channels, spatial[0], spatial[1]},
                              x_type == DType::kU8 ? 0 : -128, x_type == DType::kU8 ? 255 : 127);
        Tensor w = u8_weights ? r.integers(DType::kU8, {filters, channels / group, kernel[0], kernel[1]}, 0, 255)
                              : r.integers(DType::kI8, {filters, channels / group, kernel[0], kernel[1]}, -127, 127);
        quantized_params(r, c, x, w, filters, r.coin());
        c.inputs.push_back(r.coin() ? r.integers(DType::kI32, {filters}, -2000, 2000) : Tensor());
        c.what += " x " + dtype_name(x_type) + " w " + dtype_name(w.dtype()) + " y " + dtype_name(c.inputs[7].dtype());
        if (is_private) {
            const Activation act = random_activation(r, true);
            set_activation(c.node, act);
            c.what = "private " + c.what + " activation " + c.node.attr_string("activation", "");
            if (r.coin()) {
                c.node.set_attr_int("channels_last", 1);
                c.inputs[0] = to_channels_last(c.inputs[0]);
                c.what += " channels_last";
            }
        }
        cases.push_back(std::move(c));
    }
    for (int i = 0; i < 16; ++i) {
        const bool is_private = i % 2 == 1;
        const int64_t k = r.integer(1, 40), n = r.integer(1, 20);
        const Shape a = r.coin() ? Shape{r.integer(1, 9), k} : Shape{2, r.integer(1, 5), k};
        OpCase c{"QLinearMatMul",
                 pare_test::op_node("QLinearMatMul", is_private ? 9 : 8, 1, is_private ? kPareDomain : "")};
        c.opset = 13;
        const DType x_type = r.coin() ? DType::kU8 : DType::kI8;
        Tensor x = r.integers(x_type, a, x_type == DType::kU8 ? 0 : -128, x_type == DType::kU8 ? 255 : 127);
        quantized_params(r, c, x, r.integers(DType::kI8, {k, n}, -127, 127), n, r.coin());
        c.what = "QLinearMatMul " + ints(a) + " x " + ints({k, n}) + " " + dtype_name(x_type);
        if (is_private) {
            c.inputs.push_back(r.coin() ? r.integers(DType::kI32, {n}, -5000, 5000) : Tensor());
            set_activation(c.node, random_activation(r, true));
            c.what = "private " + c.what + " activation " + c.node.attr_string("activation", "") +
                     (c.inputs.back().defined() ? " bias" : "");
        }
        cases.push_back(std::move(c));
    }
    for (int i = 0; i < 8; ++i) {
        const bool quantize = i % 2 == 0;
        const DType q_type = i % 4 < 2 ? DType::kU8 : DType::kI8;
        const char* op = quantize ? "QuantizeLinear" : "DequantizeLinear";
        OpCase c{op, pare_test::op_node(op, 3)};
        c.opset = 13;
        const Shape x = {r.integer(1, 3), r.integer(1, 100)};
        c.inputs = {quantize ? r.floats(x, -10, 10)
                             : r.integers(q_type, x, q_type == DType::kU8 ? 0 : -128, q_type == DType::kU8 ? 255 : 127),
                    tensor_from_vector<float>({r.uniform(0.01f, 0.1f)}, {}),
                    r.integers(q_type, {}, q_type == DType::kU8 ? 0 : -128, q_type == DType::kU8 ? 255 : 127)};
        c.constant = {false, true, true};
        c.rtol = c.atol = 0.0;
        c.what = std::string(op) + " " + dtype_name(q_type) + " " + ints(x);
        cases.push_back(std::move(c));
    }
}

}  // namespace

namespace pare_test {

/// Runs every case on the fast kernel of `backend` and on the reference kernel and compares them. Ops without a
/// fast kernel on the backend, or without a reference kernel in this build, are skipped (and counted).
void run_backend_cases(Backend backend) {
    Random r(20261127);
    std::vector<OpCase> cases;
    conv_cases(r, cases);
    conv_transpose_cases(r, cases);
    gemm_cases(r, cases);
    matmul_cases(r, cases);
    pool_cases(r, cases);
    normalization_cases(r, cases);
    elementwise_cases(r, cases);
    transpose_cases(r, cases);
    quantized_cases(r, cases);
    int compared = 0, skipped = 0;
    for (const OpCase& c : cases) {
        INFO(c.what);
        const KernelEntry* reference = KernelRegistry::instance().reference(c.node.domain(), c.node.op_type());
        const KernelEntry* fast = fast_entry(c.node, c.opset, backend);
        if (!reference || !fast) {
            ++skipped;
            continue;
        }
        const KernelRun expected = run_kernel(*reference, c.node, c.opset, c.inputs, c.constant);
        if (!expected.status.ok()) {
            MESSAGE("reference kernel refused " << c.what << ": " << expected.status.message());
            ++skipped;
            continue;
        }
        const KernelRun actual = run_kernel(*fast, c.node, c.opset, c.inputs, c.constant);
        REQUIRE_MESSAGE(actual.status.ok(), actual.status.message());
        CHECK(actual.native == c.expect_native);
        REQUIRE(actual.outputs.size() == expected.outputs.size());
        for (size_t o = 0; o < actual.outputs.size(); ++o) {
            CHECK_MESSAGE(compare(actual.outputs[o], expected.outputs[o], c.rtol, c.atol) == "",
                          "output " << o << ": " << compare(actual.outputs[o], expected.outputs[o], c.rtol, c.atol));
        }
        ++compared;
    }
    MESSAGE(compared << " cases compared, " << skipped << " skipped (no fast or no reference kernel)");
    CHECK(compared > 0);
}

}  // namespace pare_test

TEST_CASE("backend ops: oneDNN CPU kernels match the reference kernels") {
    pare_test::run_backend_cases(Backend::kCpu);
}

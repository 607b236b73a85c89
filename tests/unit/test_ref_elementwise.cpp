// Reference element-wise, logic, cast and reduction kernels: the cases ONNX's node tests do not reach (int64 beyond
// 2^53, rank-0 broadcasting, empty tensors, sign rules, ties, NaN, multi-threaded broadcast walks, bad input).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "model_builder.h"
#include "ops/ref/dtype_dispatch.h"

using namespace pare;

namespace {

using AttrSetter = std::function<void(Node&)>;

// Runs one node on reference kernels; every non-empty input is a graph input (so value-dependent shapes such as
// TopK's k are resolved at run time). An undefined tensor is an omitted optional input.
Result<std::vector<Tensor>> run_op(const std::string& op, const std::vector<Tensor>& inputs, const AttrSetter& attrs = {},
                                   int64_t opset = 18, int num_outputs = 1) {
    std::vector<onnx::ValueInfoProto> infos, outs;
    std::vector<std::string> input_names, output_names;
    std::vector<Tensor> fed;
    for (size_t i = 0; i < inputs.size(); ++i) {
        input_names.push_back(inputs[i].defined() ? "in" + std::to_string(i) : "");
        if (!inputs[i].defined()) continue;
        infos.push_back(pare_test::value_info(input_names.back(), inputs[i].dtype(), inputs[i].shape()));
        fed.push_back(inputs[i]);
    }
    for (int i = 0; i < num_outputs; ++i) {
        output_names.push_back("out" + std::to_string(i));
        outs.emplace_back();
        outs.back().set_name(output_names.back());  // untyped: the kernel decides
    }
    Graph graph = pare_test::make_graph(infos, outs);
    Node node = pare_test::make_node(op, input_names, output_names);
    node.proto.set_name("under_test");
    if (attrs) attrs(node);
    graph.nodes.push_back(std::move(node));
    return pare_test::run_graph(graph, opset, fed);
}

Tensor run_ok(const std::string& op, const std::vector<Tensor>& inputs, const AttrSetter& attrs = {},
              int64_t opset = 18) {
    auto outputs = run_op(op, inputs, attrs, opset);
    REQUIRE_MESSAGE(outputs.ok(), outputs.status().message());
    return (*outputs)[0];
}

template <class T>
std::vector<T> values(const Tensor& t) {
    const T* p = t.data<T>();
    return std::vector<T>(p, p + t.numel());
}

template <class T>
Tensor scalar(T v) {
    return tensor_from_vector<T>({v}, {});
}

Tensor f16s(const std::vector<float>& v, Shape shape) {
    std::vector<F16> h;
    for (float x : v) h.push_back(F16{f32_to_f16(x)});
    return tensor_from_vector<F16>(h, std::move(shape));
}

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const int64_t k2p53 = int64_t(1) << 53;

}  // namespace

TEST_CASE("int64 arithmetic, reductions and casts stay exact beyond 2^53") {
    const Tensor a = tensor_from_vector<int64_t>({k2p53 + 1, -k2p53 - 3, std::numeric_limits<int64_t>::max()}, {3});
    const Tensor one = scalar<int64_t>(1);
    CHECK(values<int64_t>(run_ok("Add", {a, one})) ==
          std::vector<int64_t>{k2p53 + 2, -k2p53 - 2, std::numeric_limits<int64_t>::min()});  // wraps
    CHECK(values<int64_t>(run_ok("Sub", {a, one}))[0] == k2p53);
    CHECK(values<int64_t>(run_ok("Mul", {a, scalar<int64_t>(3)}))[0] == 3 * k2p53 + 3);
    CHECK(values<int64_t>(run_ok("Div", {a, scalar<int64_t>(-3)}))[1] == (k2p53 + 3) / 3);
    CHECK(values<int64_t>(run_ok("Max", {a, one}))[0] == k2p53 + 1);
    CHECK(values<int64_t>(run_ok("Pow", {scalar<int64_t>(3), scalar<int64_t>(39)}))[0] == 4052555153018976267LL);

    const Tensor pair = tensor_from_vector<int64_t>({k2p53 + 1, k2p53}, {2});
    CHECK(values<int64_t>(run_ok("ReduceSum", {pair}))[0] == 2 * k2p53 + 1);
    CHECK(values<int64_t>(run_ok("ReduceMax", {pair}))[0] == k2p53 + 1);
    CHECK(values<int64_t>(run_ok("ReduceMean", {pair}))[0] == k2p53);  // (2^54 + 1) / 2 truncates
    CHECK(values<int64_t>(run_ok("ArgMax", {pair}))[0] == 0);
    CHECK(values<int64_t>(run_ok("CumSum", {pair, scalar<int64_t>(0)})) ==
          std::vector<int64_t>{k2p53 + 1, 2 * k2p53 + 1});
    CHECK(values<bool>(run_ok("Greater", {pair, tensor_from_vector<int64_t>({k2p53, k2p53 + 1}, {2})})) ==
          std::vector<bool>{true, false});
    CHECK(values<bool>(run_ok("Equal", {pair, tensor_from_vector<int64_t>({k2p53, k2p53}, {2})})) ==
          std::vector<bool>{false, true});

    const Tensor big = tensor_from_vector<uint64_t>({(uint64_t(1) << 63) + 1}, {1});
    const Tensor as_i64 = run_ok("Cast", {big}, [](Node& n) { n.set_attr_int("to", 7); });
    CHECK(values<int64_t>(as_i64)[0] == std::numeric_limits<int64_t>::min() + 1);  // wraps like a C cast
    const Tensor back = run_ok("Cast", {as_i64}, [](Node& n) { n.set_attr_int("to", 13); });
    CHECK(values<uint64_t>(back)[0] == (uint64_t(1) << 63) + 1);
}

TEST_CASE("rank-0 tensors broadcast against rank 4 both ways") {
    std::vector<float> data(2 * 3 * 1 * 2);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i);
    const Tensor x = tensor_from_vector<float>(data, {2, 3, 1, 2});
    const Tensor s = scalar<float>(10.0f);
    const Tensor left = run_ok("Sub", {s, x});
    const Tensor right = run_ok("Sub", {x, s});
    CHECK(left.shape() == Shape{2, 3, 1, 2});
    CHECK(right.shape() == Shape{2, 3, 1, 2});
    for (size_t i = 0; i < data.size(); ++i) {
        CHECK(values<float>(left)[i] == 10.0f - data[i]);
        CHECK(values<float>(right)[i] == data[i] - 10.0f);
    }
    const Tensor both = run_ok("Add", {s, s});
    CHECK(both.shape().empty());
    CHECK(values<float>(both)[0] == 20.0f);

    const Tensor picked = run_ok("Where", {scalar<bool>(false), x, s});
    CHECK(picked.shape() == Shape{2, 3, 1, 2});
    CHECK(values<float>(picked) == std::vector<float>(12, 10.0f));
    const Tensor summed = run_ok("Sum", {s, x, scalar<float>(1.0f)});
    CHECK(values<float>(summed)[5] == 16.0f);
}

TEST_CASE("a multi-threaded broadcast walk matches direct indexing") {
    // Large enough to split rows over threads; shapes that defeat dimension merging.
    const Shape sa{5, 1, 64, 1, 33}, sb{1, 7, 1, 9, 33};
    std::vector<int32_t> va(shape_numel(sa)), vb(shape_numel(sb));
    for (size_t i = 0; i < va.size(); ++i) va[i] = static_cast<int32_t>(i * 7 % 1000);
    for (size_t i = 0; i < vb.size(); ++i) vb[i] = static_cast<int32_t>(i * 13 % 997) * 1000;
    const Tensor out = run_ok("Add", {tensor_from_vector(va, sa), tensor_from_vector(vb, sb)});
    REQUIRE(out.shape() == Shape{5, 7, 64, 9, 33});
    const int32_t* d = out.data<int32_t>();
    int64_t i = 0, mismatches = 0;
    for (int64_t a0 = 0; a0 < 5; ++a0)
        for (int64_t a1 = 0; a1 < 7; ++a1)
            for (int64_t a2 = 0; a2 < 64; ++a2)
                for (int64_t a3 = 0; a3 < 9; ++a3)
                    for (int64_t a4 = 0; a4 < 33; ++a4, ++i) {
                        const int32_t want = va[(a0 * 64 + a2) * 33 + a4] + vb[(a1 * 9 + a3) * 33 + a4];
                        mismatches += d[i] != want;
                    }
    CHECK(mismatches == 0);
}

TEST_CASE("empty tensors") {
    const Tensor empty = Tensor(DType::kF32, {0, 3});
    const Tensor row = tensor_from_vector<float>({1, 2, 3}, {1, 3});
    CHECK(run_ok("Add", {empty, row}).shape() == Shape{0, 3});
    CHECK(run_ok("Where", {Tensor(DType::kBool, {0, 1}), row, row}).shape() == Shape{0, 3});
    CHECK(run_ok("Cast", {empty}, [](Node& n) { n.set_attr_int("to", 10); }).shape() == Shape{0, 3});
    CHECK(run_ok("ArgMax", {empty}, [](Node& n) { n.set_attr_int("axis", 1); }).shape() == Shape{0, 1});
    CHECK(run_ok("CumSum", {empty, scalar<int32_t>(1)}).shape() == Shape{0, 3});

    // Reducing over an empty axis gives the identity of the reduction.
    const Tensor rows = Tensor(DType::kF32, {2, 0});
    const auto axis1 = [](Node& n) { n.set_attr_ints("axes", {1}); };
    const Tensor axes = tensor_from_vector<int64_t>({1}, {1});
    CHECK(values<float>(run_ok("ReduceSum", {rows, axes})) == std::vector<float>{0, 0});
    CHECK(run_ok("ReduceSum", {rows, axes}).shape() == Shape{2, 1});
    CHECK(values<float>(run_ok("ReduceProd", {rows}, axis1, 13)) == std::vector<float>{1, 1});
    CHECK(values<float>(run_ok("ReduceMax", {rows}, axis1, 13))[0] == -INFINITY);
    CHECK(values<float>(run_ok("ReduceMin", {rows}, axis1, 13))[0] == INFINITY);
    CHECK(std::isnan(values<float>(run_ok("ReduceMean", {rows}, axis1, 13))[0]));
    CHECK(values<float>(run_ok("ReduceLogSumExp", {rows}, axis1, 13))[0] == -INFINITY);
    CHECK(values<int32_t>(run_ok("ReduceMax", {Tensor(DType::kI32, {0})}, {}, 13))[0] ==
          std::numeric_limits<int32_t>::lowest());
    // Reducing the non-empty axis of an empty tensor gives an empty output.
    CHECK(run_ok("ReduceSum", {Tensor(DType::kF32, {0, 4}), axes}).shape() == Shape{0, 1});

    const auto topk =
        run_op("TopK", {tensor_from_vector<float>({3, 1}, {2}), tensor_from_vector<int64_t>({0}, {1})}, {}, 11, 2);
    REQUIRE(topk.ok());
    CHECK((*topk)[0].shape() == Shape{0});
    CHECK((*topk)[1].shape() == Shape{0});
}

TEST_CASE("Mod: fmod=0 takes the divisor's sign, fmod=1 the dividend's") {
    const Tensor a = tensor_from_vector<int32_t>({-7, 7, -7, 7, 5, std::numeric_limits<int32_t>::min()}, {6});
    const Tensor b = tensor_from_vector<int32_t>({3, -3, -3, 3, 0, -1}, {6});
    CHECK(values<int32_t>(run_ok("Mod", {a, b})) == std::vector<int32_t>{2, -2, -1, 1, 0, 0});
    CHECK(values<int32_t>(run_ok("Mod", {a, b}, [](Node& n) { n.set_attr_int("fmod", 1); })) ==
          std::vector<int32_t>{-1, 1, -1, 1, 0, 0});
    const Tensor i8a = tensor_from_vector<int8_t>({-128, -1}, {2});
    const Tensor i8b = tensor_from_vector<int8_t>({127, 127}, {2});
    CHECK(values<int8_t>(run_ok("Mod", {i8a, i8b})) == std::vector<int8_t>{126, 126});

    const Tensor fa = tensor_from_vector<float>({-7.5f, 7.5f}, {2});
    const Tensor fb = tensor_from_vector<float>({2.0f, -2.0f}, {2});
    CHECK(values<float>(run_ok("Mod", {fa, fb}, [](Node& n) { n.set_attr_int("fmod", 1); })) ==
          std::vector<float>{-1.5f, 1.5f});
    CHECK(values<float>(run_ok("Mod", {fa, fb})) == std::vector<float>{0.5f, -0.5f});  // numpy.mod
    // Integer division truncates toward zero and never traps.
    CHECK(values<int32_t>(run_ok("Div", {a, b})) ==
          std::vector<int32_t>{-2, -2, 2, 2, 0, std::numeric_limits<int32_t>::min()});
}

TEST_CASE("TopK breaks ties by lower index and ranks NaN highest") {
    const Tensor x = tensor_from_vector<float>({1, 3, 3, 2, 3, 1}, {6});
    const Tensor k2 = tensor_from_vector<int64_t>({2}, {1});
    auto largest = run_op("TopK", {x, k2}, {}, 11, 2);
    REQUIRE(largest.ok());
    CHECK(values<float>((*largest)[0]) == std::vector<float>{3, 3});
    CHECK(values<int64_t>((*largest)[1]) == std::vector<int64_t>{1, 2});
    auto smallest = run_op(
        "TopK", {x, k2}, [](Node& n) { n.set_attr_int("largest", 0); }, 11, 2);
    REQUIRE(smallest.ok());
    CHECK(values<int64_t>((*smallest)[1]) == std::vector<int64_t>{0, 5});

    const Tensor with_nan = tensor_from_vector<float>({1, kNaN, 5, kNaN}, {2, 2});
    const Tensor k1 = tensor_from_vector<int64_t>({1}, {1});
    auto top = run_op(
        "TopK", {with_nan, k1}, [](Node& n) { n.set_attr_int("axis", 0); }, 11, 2);
    REQUIRE(top.ok());
    CHECK(values<int64_t>((*top)[1]) == std::vector<int64_t>{1, 0});
    auto bottom = run_op(
        "TopK", {with_nan, k1}, [](Node& n) { n.set_attr_int("largest", 0); }, 11, 2);
    REQUIRE(bottom.ok());
    CHECK(values<int64_t>((*bottom)[1]) == std::vector<int64_t>{0, 0});

    auto too_many = run_op("TopK", {x, tensor_from_vector<int64_t>({7}, {1})}, {}, 11, 2);
    REQUIRE_FALSE(too_many.ok());
    CHECK(too_many.status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("NaN propagates through Max, Min and ReduceMax, and ArgMax and ArgMin pick the first NaN") {
    const Tensor a = tensor_from_vector<float>({kNaN, 1, 2}, {3});
    const Tensor b = tensor_from_vector<float>({1, kNaN, 3}, {3});
    for (const char* op : {"Max", "Min"}) {
        const auto got = values<float>(run_ok(op, {a, b}));
        CHECK(std::isnan(got[0]));
        CHECK(std::isnan(got[1]));
        CHECK(got[2] == (std::string(op) == "Max" ? 3.0f : 2.0f));
    }
    CHECK(std::isnan(values<float>(run_ok("ReduceMax", {a}, {}, 13))[0]));
    CHECK(std::isnan(values<float>(run_ok("ReduceMin", {b}, {}, 13))[0]));

    const Tensor x = tensor_from_vector<float>({1, kNaN, 7, kNaN}, {4});
    CHECK(values<int64_t>(run_ok("ArgMax", {x}))[0] == 1);
    CHECK(values<int64_t>(run_ok("ArgMin", {x}))[0] == 1);
    CHECK(values<int64_t>(run_ok("ArgMax", {x}, [](Node& n) { n.set_attr_int("select_last_index", 1); }))[0] == 3);
    // Comparisons with NaN are false, Equal included.
    CHECK(values<bool>(run_ok("Equal", {x, x})) == std::vector<bool>{true, false, true, false});
}

TEST_CASE("f16 arithmetic computes in float and rounds once") {
    const Tensor a = f16s({1.0f, 2048.0f, -3.5f}, {3});
    const Tensor b = f16s({0.5f, 1.0f, 2.0f}, {3});
    const Tensor sum = run_ok("Add", {a, b});
    REQUIRE(sum.dtype() == DType::kF16);
    CHECK(load(values<F16>(sum)[0]) == 1.5f);
    CHECK(load(values<F16>(sum)[1]) == 2048.0f);  // 2049 is not representable: ties to even
    // Mean of three f16 inputs rounds the float result once.
    const Tensor mean = run_ok("Mean", {a, b, b});
    CHECK(load(values<F16>(mean)[2]) == doctest::Approx(0.1666f).epsilon(0.01));
}

TEST_CASE("Clip: bounds from inputs or attributes, min above max, integers") {
    const Tensor x = tensor_from_vector<float>({-5, 0, 5, kNaN}, {4});
    const auto got = values<float>(run_ok("Clip", {x, scalar<float>(-1.0f), scalar<float>(1.0f)}, {}, 13));
    CHECK(got[0] == -1.0f);
    CHECK(got[2] == 1.0f);
    CHECK(std::isnan(got[3]));
    CHECK(values<float>(run_ok("Clip", {x, Tensor(), scalar<float>(2.0f)}, {}, 13))[0] == -5.0f);
    const auto inverted = values<float>(run_ok("Clip", {x, scalar<float>(3.0f), scalar<float>(1.0f)}, {}, 13));
    CHECK(inverted[0] == 1.0f);
    CHECK(inverted[1] == 1.0f);
    const auto old = values<float>(run_ok(
        "Clip", {x}, [](Node& n) { n.set_attr_float("min", 0.0f); }, 6));
    CHECK(old[0] == 0.0f);
    CHECK(old[2] == 5.0f);
    const Tensor i64 = tensor_from_vector<int64_t>({-k2p53 - 1, k2p53 + 1}, {2});
    CHECK(values<int64_t>(run_ok("Clip", {i64, scalar<int64_t>(-k2p53), scalar<int64_t>(k2p53)}, {}, 13)) ==
          std::vector<int64_t>{-k2p53, k2p53});
}

TEST_CASE("Cast truncates floats toward zero, saturates, and maps nonzero to true") {
    const Tensor x = tensor_from_vector<float>({-2.7f, 2.7f, 1e10f, kNaN, 0.0f, -0.5f}, {6});
    CHECK(values<int32_t>(run_ok("Cast", {x}, [](Node& n) { n.set_attr_int("to", 6); })) ==
          std::vector<int32_t>{-2, 2, std::numeric_limits<int32_t>::max(), 0, 0, 0});
    CHECK(values<uint8_t>(run_ok("Cast", {x}, [](Node& n) { n.set_attr_int("to", 2); })) ==
          std::vector<uint8_t>{0, 2, 255, 0, 0, 0});
    CHECK(values<bool>(run_ok("Cast", {x}, [](Node& n) { n.set_attr_int("to", 9); })) ==
          std::vector<bool>{true, true, true, true, false, true});
    const Tensor like = run_ok("CastLike", {x, f16s({0}, {1})});
    REQUIRE(like.dtype() == DType::kF16);
    CHECK(load(values<F16>(like)[2]) == INFINITY);
    const Tensor bf =
        run_ok("Cast", {tensor_from_vector<float>({1.00390625f}, {1})}, [](Node& n) { n.set_attr_int("to", 16); });
    CHECK(bf.data<BF16>()[0].bits == 0x3f80);  // halfway between two bf16 values: ties to even
    auto bad = run_op("Cast", {x}, [](Node& n) { n.set_attr_int("to", 8); });
    CHECK(bad.status().code() == ErrorCode::kUnsupported);
}

TEST_CASE("Pow with mixed dtypes and integer exponents") {
    const Tensor base = tensor_from_vector<int32_t>({2, -2, 2, -1}, {4});
    CHECK(values<int32_t>(run_ok("Pow", {base, tensor_from_vector<int64_t>({10, 3, -1, -3}, {4})}, {}, 15)) ==
          std::vector<int32_t>{1024, -8, 0, -1});
    CHECK(values<int32_t>(run_ok("Pow", {base, scalar<float>(0.5f)}, {}, 15))[0] == 1);  // sqrt(2) truncated
    CHECK(values<float>(run_ok("Pow", {scalar<float>(2.0f), scalar<int64_t>(-2)}, {}, 15))[0] == 0.25f);
}

TEST_CASE("reductions: axes from attributes or input, keepdims, noop") {
    const Tensor x = tensor_from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
    CHECK(values<float>(run_ok("ReduceSum", {x, tensor_from_vector<int64_t>({-1}, {1})})) == std::vector<float>{6, 15});
    const Tensor kept = run_ok(
        "ReduceMean", {x}, [](Node& n) { n.set_attr_ints("axes", {0}); }, 13);
    CHECK(kept.shape() == Shape{1, 3});
    CHECK(values<float>(kept) == std::vector<float>{2.5f, 3.5f, 4.5f});
    const Tensor dropped = run_ok("ReduceL2", {x, tensor_from_vector<int64_t>({0, 1}, {2})},
                                  [](Node& n) { n.set_attr_int("keepdims", 0); });
    CHECK(dropped.shape().empty());
    CHECK(values<float>(dropped)[0] == doctest::Approx(std::sqrt(91.0)));
    const Tensor noop =
        run_ok("ReduceMax", {x, Tensor(DType::kI64, {0})}, [](Node& n) { n.set_attr_int("noop_with_empty_axes", 1); });
    CHECK(values<float>(noop) == values<float>(x));
    const Tensor lse = run_ok("ReduceLogSumExp", {tensor_from_vector<float>({1000, 1000}, {2})}, {}, 13);
    CHECK(values<float>(lse)[0] == doctest::Approx(1000 + std::log(2.0)));  // no overflow
    const Tensor l1 = run_ok("ReduceL1", {tensor_from_vector<int8_t>({-100, -100, 50}, {3})}, {}, 13);
    CHECK(values<int8_t>(l1)[0] == static_cast<int8_t>(250));  // wraps like numpy's sum cast back to int8
    const Tensor imean = run_ok("ReduceMean", {tensor_from_vector<int8_t>({100, 100, 101}, {3})}, {}, 13);
    CHECK(values<int8_t>(imean)[0] == 100);  // no overflow in the accumulator
}

TEST_CASE("CumSum: exclusive, reverse and negative axis") {
    const Tensor x = tensor_from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
    const Tensor axis = scalar<int32_t>(-1);
    CHECK(values<float>(run_ok("CumSum", {x, axis})) == std::vector<float>{1, 3, 6, 4, 9, 15});
    CHECK(values<float>(run_ok("CumSum", {x, axis}, [](Node& n) {
              n.set_attr_int("exclusive", 1);
              n.set_attr_int("reverse", 1);
          })) == std::vector<float>{5, 3, 0, 11, 6, 0});
    CHECK(run_op("CumSum", {x, scalar<int32_t>(2)}).status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("malformed nodes are invalid input naming the node") {
    const Tensor a = Tensor(DType::kF32, {2, 3});
    const Tensor b = Tensor(DType::kF32, {4});
    for (const char* op : {"Add", "Less", "Max"}) {
        auto result = run_op(op, {a, b});
        REQUIRE_FALSE(result.ok());
        CHECK(result.status().code() == ErrorCode::kInvalidInput);
        CHECK(result.status().message().find("under_test") != std::string::npos);
        CHECK(result.status().message().find("2x3") != std::string::npos);
    }
    CHECK(run_op("Add", {a, Tensor(DType::kI32, {2, 3})}).status().code() == ErrorCode::kInvalidInput);
    CHECK(run_op("PRelu", {Tensor(DType::kF32, {3}), Tensor(DType::kF32, {2, 3})}).status().code() ==
          ErrorCode::kInvalidInput);
    CHECK(run_op(
              "ReduceSum", {a},
              [](Node& n) {
                  n.set_attr_ints("axes", {1, -1});
              },
              11)
              .status()
              .code() == ErrorCode::kInvalidInput);
    CHECK(run_op("ReduceSum", {a, tensor_from_vector<int64_t>({2}, {1})}).status().code() == ErrorCode::kInvalidInput);
    CHECK(run_op("ArgMax", {Tensor(DType::kF32, {2, 0})}, [](Node& n) { n.set_attr_int("axis", 1); }).status().code() ==
          ErrorCode::kInvalidInput);
    CHECK(run_op("And", {a, a}).status().code() == ErrorCode::kUnsupported);
    const auto legacy = [](Node& n) {
        n.set_attr_int("broadcast", 1);
        n.set_attr_int("axis", 0);
    };
    CHECK(run_op("Add", {a, Tensor(DType::kF32, {2})}, legacy, 6).status().code() == ErrorCode::kUnsupported);
}

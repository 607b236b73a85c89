// Edge cases of the shape and data-movement reference kernels that ONNX's node tests miss: extreme Slice bounds,
// Reshape's 0 / -1 / allowzero, empty tensors, 1-pixel Resize, all-false NonZero, buffer-less Shape and Size, and
// input values known at compile time (constants) versus only at run time.
#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <limits>

#include "exec/session.h"
#include "ops/kernel_util.h"

using namespace pare;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

/// One node input: fed at run time, an initializer (known when compiling), or omitted (undefined tensor).
struct Arg {
    Tensor value;
    bool constant = false;
};
Arg fed(Tensor t) { return Arg{std::move(t), false}; }
Arg known(Tensor t) { return Arg{std::move(t), true}; }

Tensor ints(const std::vector<int64_t>& values) {
    return tensor_from_vector<int64_t>(values, {static_cast<int64_t>(values.size())});
}
Tensor iota_floats(Shape shape) {
    Tensor t(DType::kF32, shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(i);
    return t;
}

/// Runs a single-node graph on the reference kernels.
Result<std::vector<Tensor>> run_node(const std::string& op, int64_t opset, const std::vector<Arg>& args,
                                     int num_outputs = 1, const std::function<void(Node&)>& set_attributes = {}) {
    Graph graph;
    onnx::NodeProto proto;
    proto.set_op_type(op);
    std::vector<std::string> input_names;
    std::vector<InputInfo> input_types;
    std::vector<Tensor> feeds;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string name = args[i].value.defined() ? "in" + std::to_string(i) : "";
        proto.add_input(name);
        if (name.empty()) continue;
        if (args[i].constant) {
            graph.set_initializer(name, args[i].value);
            continue;
        }
        graph.header.add_input()->set_name(name);
        input_names.push_back(name);
        InputInfo info;
        info.dtype = args[i].value.dtype();
        info.shape = args[i].value.shape();
        input_types.push_back(info);
        feeds.push_back(args[i].value);
    }
    for (int o = 0; o < num_outputs; ++o) {
        proto.add_output("out" + std::to_string(o));
        graph.header.add_output()->set_name("out" + std::to_string(o));
    }
    Node node(std::move(proto));
    if (set_attributes) set_attributes(node);
    graph.nodes.push_back(std::move(node));
    SessionOptions options;
    options.reference_only = true;
    PARE_ASSIGN_OR_RETURN(auto session,
                          Session::create_for_graph(graph, {{"", opset}}, input_names, input_types, options));
    return session->run(feeds);
}

/// The single output of a node that must succeed.
Tensor run_one(const std::string& op, int64_t opset, const std::vector<Arg>& args,
               const std::function<void(Node&)>& set_attributes = {}) {
    auto outputs = run_node(op, opset, args, 1, set_attributes);
    REQUIRE_MESSAGE(outputs.ok(), outputs.status().message());
    return (*outputs)[0];
}

ErrorCode failure_of(const std::string& op, int64_t opset, const std::vector<Arg>& args,
                     const std::function<void(Node&)>& set_attributes = {}) {
    return run_node(op, opset, args, 1, set_attributes).status().code();
}

}  // namespace

TEST_CASE("Slice clamps INT64_MAX / INT64_MIN bounds and walks negative steps") {
    const Tensor data = iota_floats({10});
    for (bool constant : {false, true}) {
        auto arg = [constant](Tensor t) { return Arg{std::move(t), constant}; };
        auto slice = [&](int64_t start, int64_t end, int64_t step) {
            return tensor_to_floats(run_one("Slice", 13, {fed(data), arg(ints({start})), arg(ints({end})),
                                                          arg(ints({0})), arg(ints({step}))}));
        };
        CHECK(slice(2, kMax, 1) == std::vector<float>{2, 3, 4, 5, 6, 7, 8, 9});
        CHECK(slice(-1, kMin, -1) == std::vector<float>{9, 8, 7, 6, 5, 4, 3, 2, 1, 0});
        CHECK(slice(kMax, kMin, -3) == std::vector<float>{9, 6, 3, 0});
        CHECK(slice(kMax, -kMax, kMin) == std::vector<float>{9});  // |INT64_MIN| does not fit in int64
        CHECK(slice(kMin, kMax, kMax) == std::vector<float>{0});
        CHECK(slice(5, 5, 1).empty());
        CHECK(slice(3, 7, -1).empty());  // a negative step needs start > end
        CHECK(slice(-100, 3, 1) == std::vector<float>{0, 1, 2});
    }
    CHECK(
        failure_of("Slice", 13, {fed(data), known(ints({0})), known(ints({5})), known(ints({0})), known(ints({0}))}) ==
        ErrorCode::kInvalidInput);  // step 0
    // Opset 1-9: attributes; axes may be listed in any order.
    const Tensor sliced = run_one("Slice", 9, {fed(iota_floats({3, 4}))}, [](Node& n) {
        n.set_attr_ints("starts", {1, -1});
        n.set_attr_ints("ends", {kMax, 1});
        n.set_attr_ints("axes", {1, 0});
    });
    CHECK(sliced.shape() == Shape{0, 3});
}

TEST_CASE("Reshape: 0 copies a dimension, -1 infers one, allowzero keeps zeros") {
    const Tensor data = iota_floats({2, 3, 4});
    CHECK(run_one("Reshape", 14, {fed(data), known(ints({0, -1}))}).shape() == Shape{2, 12});
    CHECK(run_one("Reshape", 14, {fed(data), fed(ints({-1, 0, 2}))}).shape() == Shape{4, 3, 2});
    CHECK(failure_of("Reshape", 14, {fed(data), known(ints({4, 0, 0}))}) == ErrorCode::kInvalidInput);  // 4*3*4
    CHECK(failure_of("Reshape", 14, {fed(data), known(ints({-1, -1}))}) == ErrorCode::kInvalidInput);
    CHECK(failure_of("Reshape", 14, {fed(data), known(ints({5, -1}))}) == ErrorCode::kInvalidInput);

    const Tensor empty(DType::kF32, {0, 3, 4});
    const auto allow_zero = [](Node& n) { n.set_attr_int("allowzero", 1); };
    CHECK(run_one("Reshape", 14, {fed(empty), known(ints({3, 4, 0}))}, allow_zero).shape() == Shape{3, 4, 0});
    CHECK(run_one("Reshape", 14, {fed(empty), known(ints({0, 12}))}).shape() == Shape{0, 12});  // 0 copies the 0
    // Without allowzero the 0 copies input dim 0 (3 -> [3, 4] from a [3, 4] input); with it, the 0 is literal.
    const Tensor small = iota_floats({3, 4});
    CHECK(run_one("Reshape", 14, {fed(small), known(ints({0, 4}))}).shape() == Shape{3, 4});
    CHECK(failure_of("Reshape", 14, {fed(small), known(ints({0, 4}))}, allow_zero) == ErrorCode::kInvalidInput);
    // A 0 and a -1 together cannot be resolved when the 0 is literal or copies a zero dimension.
    CHECK(failure_of("Reshape", 14, {fed(empty), known(ints({0, -1}))}) == ErrorCode::kInvalidInput);
    CHECK(failure_of("Reshape", 14, {fed(empty), known(ints({0, -1}))}, allow_zero) == ErrorCode::kInvalidInput);
    // Opset < 5 reads the shape attribute.
    CHECK(run_one("Reshape", 4, {fed(data)}, [](Node& n) { n.set_attr_ints("shape", {6, -1}); }).shape() ==
          Shape{6, 4});
}

TEST_CASE("movement ops on empty tensors") {
    const Tensor empty(DType::kF32, {2, 0, 3});
    CHECK(run_one("Transpose", 13, {fed(empty)}).shape() == Shape{3, 0, 2});
    CHECK(run_one("Concat", 13, {fed(iota_floats({2, 1, 3})), fed(empty)}, [](Node& n) { n.set_attr_int("axis", 1); })
              .shape() == Shape{2, 1, 3});
    CHECK(run_one("Slice", 13, {fed(empty), known(ints({0})), known(ints({kMax})), known(ints({2}))}).shape() ==
          Shape{2, 0, 3});
    const Tensor padded = run_one("Pad", 13, {fed(empty), known(ints({0, 1, 0, 0, 1, 0}))});
    CHECK(padded.shape() == Shape{2, 2, 3});
    CHECK(tensor_to_floats(padded) == std::vector<float>(12, 0.0f));
    CHECK(failure_of("Pad", 13, {fed(empty), known(ints({0, 1, 0, 0, 1, 0}))},
                     [](Node& n) { n.set_attr_string("mode", "edge"); }) == ErrorCode::kInvalidInput);
    CHECK(run_one("Gather", 13, {fed(iota_floats({4, 2})), fed(tensor_from_vector<int64_t>({}, {0}))}).shape() ==
          Shape{0, 2});
    CHECK(run_one("Tile", 13, {fed(iota_floats({2, 3})), known(ints({0, 2}))}).shape() == Shape{0, 6});
    CHECK(run_one("Expand", 13, {fed(iota_floats({1, 3})), fed(ints({0, 1}))}).shape() == Shape{0, 3});
    auto split = run_node("Split", 13, {fed(iota_floats({4})), known(ints({0, 4, 0}))}, 3);
    REQUIRE(split.ok());
    CHECK((*split)[0].shape() == Shape{0});
    CHECK(tensor_to_floats((*split)[1]) == std::vector<float>{0, 1, 2, 3});
    CHECK(run_one("NonZero", 13, {fed(empty)}).shape() == Shape{3, 0});
    CHECK(run_one("ConstantOfShape", 9, {fed(ints({2, 0}))}).shape() == Shape{2, 0});
    CHECK(run_one("Range", 11, {fed(tensor_from_vector<int32_t>({5}, {})), fed(tensor_from_vector<int32_t>({5}, {})),
                                fed(tensor_from_vector<int32_t>({-1}, {}))})
              .shape() == Shape{0});
    CHECK(run_one("Resize", 13, {fed(empty), Arg{}, known(tensor_from_vector<float>({1, 2, 2}, {3}))}).shape() ==
          Shape{2, 0, 6});
}

TEST_CASE("Resize of a 1-pixel image gives that pixel everywhere, in every mode") {
    const Tensor pixel = tensor_from_vector<float>({7.5f}, {1, 1, 1, 1});
    const Tensor sizes = ints({1, 1, 3, 4});
    for (const char* mode : {"nearest", "linear", "cubic"}) {
        for (const char* coordinates : {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                                        "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"}) {
            CAPTURE(mode);
            CAPTURE(coordinates);
            const Tensor out = run_one("Resize", 19, {fed(pixel), Arg{}, Arg{}, fed(sizes)}, [&](Node& n) {
                n.set_attr_string("mode", mode);
                n.set_attr_string("coordinate_transformation_mode", coordinates);
                n.set_attr_int("exclude_outside", std::string(mode) == "cubic");
            });
            CHECK(out.shape() == Shape{1, 1, 3, 4});
            CHECK(tensor_to_floats(out) == std::vector<float>(12, 7.5f));
        }
    }
    // Shrinking to one pixel: align_corners takes the first pixel.
    const Tensor image = iota_floats({1, 1, 4, 4});
    const Tensor corner = run_one("Resize", 13, {fed(image), Arg{}, Arg{}, fed(ints({1, 1, 1, 1}))}, [](Node& n) {
        n.set_attr_string("mode", "linear");
        n.set_attr_string("coordinate_transformation_mode", "align_corners");
    });
    CHECK(tensor_to_floats(corner) == std::vector<float>{0});
}

TEST_CASE("Resize declines antialiasing and integer outputs round") {
    const Tensor image = iota_floats({1, 1, 2, 2});
    CHECK(failure_of("Resize", 18, {fed(image), Arg{}, fed(tensor_from_vector<float>({1, 1, 2, 2}, {4}))},
                     [](Node& n) {
                         n.set_attr_string("mode", "linear");
                         n.set_attr_int("antialias", 1);
                     }) == ErrorCode::kUnsupported);
    const Tensor bytes = tensor_from_vector<uint8_t>({0, 255}, {1, 2});
    const Tensor out = run_one("Resize", 13, {fed(bytes), Arg{}, fed(tensor_from_vector<float>({1, 2}, {2}))},
                               [](Node& n) { n.set_attr_string("mode", "linear"); });
    // half_pixel: coordinates -0.25, 0.25, 0.75, 1.25 -> 0, 63.75, 191.25, 255.
    CHECK(tensor_to_int64s(out) == std::vector<int64_t>{0, 64, 191, 255});
}

TEST_CASE("Resize 10 and Upsample use asymmetric coordinates and the legacy nearest rounding") {
    const Tensor row = tensor_from_vector<float>({1, 2, 3, 4}, {1, 4});
    const auto nearest = [](Node& n) { n.set_attr_string("mode", "nearest"); };
    // Shrinking rounds up: 0 / 0.6 and 1 / 0.6 = 1.67 read elements 0 and 2.
    CHECK(tensor_to_floats(run_one("Resize", 10, {fed(row), fed(tensor_from_vector<float>({1, 0.6f}, {2}))},
                                   nearest)) == std::vector<float>{1, 3});
    const auto upsample_attributes = [](const char* mode) {
        return [mode](Node& n) {
            n.set_attr_string("mode", mode);
            auto* scales = n.proto.add_attribute();
            scales->set_name("scales");
            scales->set_type(onnx::AttributeProto::FLOATS);
            scales->add_floats(1.0f);
            scales->add_floats(2.0f);
        };
    };
    const Tensor pair = tensor_from_vector<float>({1, 2}, {1, 2});
    CHECK(tensor_to_floats(run_one("Upsample", 7, {fed(pair)}, upsample_attributes("nearest"))) ==
          std::vector<float>{1, 1, 2, 2});
    CHECK(tensor_to_floats(run_one("Upsample", 7, {fed(pair)}, upsample_attributes("linear"))) ==
          std::vector<float>{1, 1.5f, 2, 2});
}

TEST_CASE("NonZero of all-false input is [rank, 0], whether the value is known when compiling or not") {
    const Tensor none(DType::kBool, {2, 3});
    CHECK(run_one("NonZero", 13, {fed(none)}).shape() == Shape{2, 0});
    CHECK(run_one("NonZero", 13, {known(none)}).shape() == Shape{2, 0});
    Tensor some(DType::kBool, {2, 3});
    some.data<bool>()[4] = true;
    CHECK(tensor_to_int64s(run_one("NonZero", 13, {fed(some)})) == std::vector<int64_t>{1, 1});
}

TEST_CASE("Shape and Size read only the shape: they work on a tensor without a buffer") {
    Graph graph;
    onnx::NodeProto proto;
    proto.set_op_type("Shape");
    proto.add_input("x");
    proto.add_output("y");
    graph.nodes.emplace_back(std::move(proto));
    for (const char* op : {"Shape", "Size"}) {
        graph.nodes[0].proto.set_op_type(op);
        KernelContext context{graph.nodes[0], 15, graph, {}, {}, 1};
        auto choice = choose_kernel(context, Backend::kCpu, true);
        REQUIRE(choice.ok());
        InputInfo info;
        info.dtype = DType::kF32;
        info.shape = {2, 5, 3};
        std::vector<OutputInfo> types;
        REQUIRE(choice->kernel->prepare({info}, types).ok());
        const Tensor shapeless(DType::kF32, {2, 5, 3}, nullptr, 0);
        std::vector<Tensor> outputs = {Tensor(types[0].dtype, types[0].shape)};
        REQUIRE(choice->kernel->run({shapeless}, outputs).ok());
        CHECK(tensor_to_int64s(outputs[0]) ==
              (std::string(op) == "Shape" ? std::vector<int64_t>{2, 5, 3} : std::vector<int64_t>{30}));
    }
    // Opset 15 start/end clamp like Slice.
    const auto start_end = [](Node& n) {
        n.set_attr_int("start", -2);
        n.set_attr_int("end", 100);
    };
    CHECK(tensor_to_int64s(run_one("Shape", 15, {fed(iota_floats({2, 5, 3}))}, start_end)) ==
          std::vector<int64_t>{5, 3});
}

TEST_CASE("Pad reflect, edge and wrap beyond the input size, and cropping") {
    const Tensor row = tensor_from_vector<float>({1, 2, 3}, {3});
    const auto pad = [&](const char* mode, std::vector<int64_t> pads) {
        return tensor_to_floats(run_one("Pad", 19, {fed(row), known(ints(pads))},
                                        [mode](Node& n) { n.set_attr_string("mode", mode); }));
    };
    CHECK(pad("reflect", {4, 4}) == std::vector<float>{1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3});
    CHECK(pad("edge", {2, 1}) == std::vector<float>{1, 1, 1, 2, 3, 3});
    // A torus, as the spec says (numpy's wrap differs once a pad exceeds the size).
    CHECK(pad("wrap", {4, 2}) == std::vector<float>{3, 1, 2, 3, 1, 2, 3, 1, 2});
    CHECK(pad("constant", {-1, 1}) == std::vector<float>{2, 3, 0});
    // Opset 18 axes input; opset 2 pads attribute with a value.
    const Tensor grid = iota_floats({2, 2});
    CHECK(run_one("Pad", 18, {fed(grid), known(ints({1, 0})), Arg{}, known(ints({-1}))}).shape() == Shape{2, 3});
    const Tensor old = run_one("Pad", 2, {fed(grid)}, [](Node& n) {
        n.set_attr_ints("pads", {0, 1, 0, 0});
        n.set_attr_float("value", 9.0f);
    });
    CHECK(tensor_to_floats(old) == std::vector<float>{9, 0, 1, 9, 2, 3});
}

TEST_CASE("opset variants: Unsqueeze/Squeeze axes, Split num_outputs, Scatter min/max") {
    const Tensor data = iota_floats({3, 1});
    CHECK(run_one("Unsqueeze", 11, {fed(data)}, [](Node& n) { n.set_attr_ints("axes", {0, -1}); }).shape() ==
          Shape{1, 3, 1, 1});
    CHECK(run_one("Unsqueeze", 13, {fed(data), fed(ints({1}))}).shape() == Shape{3, 1, 1});
    CHECK(run_one("Squeeze", 13, {fed(data)}).shape() == Shape{3});
    CHECK(failure_of("Squeeze", 13, {fed(data), known(ints({0}))}) == ErrorCode::kInvalidInput);

    auto parts = run_node("Split", 18, {fed(iota_floats({5}))}, 3, [](Node& n) { n.set_attr_int("num_outputs", 3); });
    REQUIRE(parts.ok());
    CHECK(tensor_to_floats((*parts)[2]) == std::vector<float>{4});

    const Tensor base = tensor_from_vector<int32_t>({5, 5, 5}, {3});
    const Tensor updates = tensor_from_vector<int32_t>({7, 2}, {2});
    CHECK(tensor_to_int64s(run_one("ScatterElements", 18,
                                   {fed(base), fed(ints({0, 2})), fed(updates)},
                                   [](Node& n) { n.set_attr_string("reduction", "max"); })) ==
          std::vector<int64_t>{7, 5, 5});
    CHECK(tensor_to_int64s(run_one("ScatterND", 18,
                                   {fed(base), fed(tensor_from_vector<int64_t>({0, 2}, {2, 1})), fed(updates)},
                                   [](Node& n) { n.set_attr_string("reduction", "min"); })) ==
          std::vector<int64_t>{5, 5, 2});
    // Reductions on f16 compute in float; on bool, mul is "and".
    const Tensor halves = tensor_from_vector<float>({1.5f, 2}, {2}).cast(DType::kF16);
    CHECK(tensor_to_floats(run_one("ScatterElements", 16, {fed(halves), fed(ints({1, 1})), fed(halves)},
                                   [](Node& n) { n.set_attr_string("reduction", "add"); })
                               .cast(DType::kF32)) == std::vector<float>{1.5f, 5.5f});
    Tensor flags(DType::kBool, {2});
    flags.data<bool>()[0] = true;
    CHECK(tensor_to_int64s(run_one("ScatterElements", 16, {fed(flags), fed(ints({0})), fed(Tensor(DType::kBool, {1}))},
                                   [](Node& n) { n.set_attr_string("reduction", "mul"); })) ==
          std::vector<int64_t>{0, 0});
}

TEST_CASE("bad indices and malformed nodes fail cleanly") {
    const Tensor data = iota_floats({4});
    CHECK(failure_of("Gather", 13, {fed(data), fed(ints({4}))}) == ErrorCode::kInvalidInput);
    CHECK(failure_of("GatherElements", 13, {fed(data), fed(ints({-5}))}) == ErrorCode::kInvalidInput);
    CHECK(failure_of("ScatterND", 16, {fed(data), fed(tensor_from_vector<int64_t>({9}, {1, 1})),
                                       fed(tensor_from_vector<float>({1}, {1}))}) == ErrorCode::kInvalidInput);
    CHECK(failure_of("Transpose", 13, {fed(iota_floats({2, 3}))}, [](Node& n) { n.set_attr_ints("perm", {0, 0}); }) ==
          ErrorCode::kInvalidInput);
    CHECK(failure_of("Tile", 13, {fed(data), fed(ints({kMax}))}) == ErrorCode::kInvalidInput);
    CHECK(failure_of("Expand", 13, {fed(data), known(ints({3}))}) == ErrorCode::kInvalidInput);
    CHECK(failure_of("Concat", 13, {fed(data), fed(iota_floats({2, 2}))}, [](Node& n) { n.set_attr_int("axis", 0); }) ==
          ErrorCode::kInvalidInput);
    CHECK(failure_of("Range", 11, {fed(tensor_from_vector<float>({0}, {})), fed(tensor_from_vector<float>({1e30f}, {})),
                                   fed(tensor_from_vector<float>({1}, {}))}) == ErrorCode::kInvalidInput);
    const Tensor nibbles = tensor_from_vector<float>({1, 2}, {2}).cast(DType::kI4);
    CHECK(failure_of("Transpose", 13, {fed(nibbles)}) == ErrorCode::kUnsupported);
    CHECK(run_one("Reshape", 14, {fed(nibbles), known(ints({2, 1}))}).shape() == Shape{2, 1});  // views are fine
}

TEST_CASE("Dropout at inference copies the input and reports an all-true mask") {
    auto outputs = run_node("Dropout", 13, {fed(iota_floats({2, 2})), fed(tensor_from_vector<float>({0.5f}, {}))}, 2);
    REQUIRE(outputs.ok());
    CHECK(tensor_to_floats((*outputs)[0]) == std::vector<float>{0, 1, 2, 3});
    CHECK((*outputs)[1].dtype() == DType::kBool);
    CHECK(tensor_to_int64s((*outputs)[1]) == std::vector<int64_t>{1, 1, 1, 1});
    Tensor training(DType::kBool, {});
    training.data<bool>()[0] = true;
    CHECK(run_node("Dropout", 13, {fed(iota_floats({2})), fed(tensor_from_vector<float>({0.5f}, {})), fed(training)}, 1)
              .status()
              .code() == ErrorCode::kUnsupported);
}

// Reference NN kernels on cases ONNX's node tests miss, with hand-computed expectations.
#include <doctest/doctest.h>

#include "core/half.h"
#include "ops/registry.h"

using namespace pare;

namespace {

Node make_node(const std::string& op, int inputs, int outputs = 1) {
    onnx::NodeProto proto;
    proto.set_op_type(op);
    for (int i = 0; i < inputs; ++i) proto.add_input("in" + std::to_string(i));
    for (int i = 0; i < outputs; ++i) proto.add_output("out" + std::to_string(i));
    return Node(std::move(proto));
}

// Builds the reference kernel for `node`, prepares it with `inputs` (undefined tensors are omitted inputs) and runs it.
Result<std::vector<Tensor>> run_reference(const Node& node, const std::vector<Tensor>& inputs, int64_t opset = 17) {
    const Graph graph;
    const KernelContext context{node, opset, graph, {}, nullptr, 1};
    const KernelEntry* entry = KernelRegistry::instance().reference("", node.op_type());
    if (!entry) return unsupported("no reference kernel for " + node.op_type());
    PARE_ASSIGN_OR_RETURN(KernelPtr kernel, entry->create(context));
    std::vector<InputInfo> infos;
    for (const Tensor& t : inputs) infos.push_back(InputInfo{t.defined(), t.dtype(), t.shape(), t});
    std::vector<OutputInfo> types;
    PARE_RETURN_IF_ERROR(kernel->prepare(infos, types));
    std::vector<Tensor> outputs;
    for (const OutputInfo& type : types) outputs.emplace_back(type.dtype, type.shape);
    PARE_RETURN_IF_ERROR(kernel->run(inputs, outputs));
    return outputs;
}

Tensor run_one(const Node& node, const std::vector<Tensor>& inputs, int64_t opset = 17) {
    auto outputs = run_reference(node, inputs, opset);
    REQUIRE_MESSAGE(outputs.ok(), outputs.status().message());
    return (*outputs)[0];
}

std::vector<float> iota(int n, float start = 1) {
    std::vector<float> values(n);
    for (int i = 0; i < n; ++i) values[i] = start + static_cast<float>(i);
    return values;
}

void check_values(const Tensor& got, const Shape& shape, const std::vector<float>& want) {
    REQUIRE(got.shape() == shape);
    const std::vector<float> values = tensor_to_floats(got);
    for (size_t i = 0; i < want.size(); ++i) CHECK_MESSAGE(values[i] == doctest::Approx(want[i]), "element " << i);
}

}  // namespace

TEST_CASE("Conv with asymmetric pads, in f32 and f16") {
    Node conv = make_node("Conv", 2);
    conv.set_attr_ints("pads", {1, 0, 0, 1});  // one row on top, one column on the right
    const Tensor x = tensor_from_vector<float>(iota(9), {1, 1, 3, 3});
    const Tensor w = tensor_from_vector<float>({1, 1, 1, 1}, {1, 1, 2, 2});
    const std::vector<float> want = {3, 5, 3, 12, 16, 9, 24, 28, 15};
    check_values(run_one(conv, {x, w}), {1, 1, 3, 3}, want);

    const Tensor y16 = run_one(conv, {x.cast(DType::kF16), w.cast(DType::kF16)});
    CHECK(y16.dtype() == DType::kF16);
    check_values(y16, {1, 1, 3, 3}, want);
}

TEST_CASE("depthwise Conv with channel multiplier 2 and bias") {
    Node conv = make_node("Conv", 3);
    conv.set_attr_int("group", 2);
    const Tensor x = tensor_from_vector<float>(iota(8), {1, 2, 2, 2});  // channel sums 10 and 26
    std::vector<float> weights;
    for (int m = 0; m < 4; ++m) weights.insert(weights.end(), 4, static_cast<float>(m + 1));
    const Tensor w = tensor_from_vector<float>(weights, {4, 1, 2, 2});
    const Tensor b = tensor_from_vector<float>({0, 100, 200, 300}, {4});
    // Output channels 0 and 1 read input channel 0; 2 and 3 read channel 1.
    check_values(run_one(conv, {x, w, b}), {1, 4, 1, 1}, {10, 120, 278, 404});

    Node wrong = make_node("Conv", 2);
    wrong.set_attr_int("group", 3);
    auto refused = run_reference(wrong, {x, w});
    CHECK(refused.status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("ConvTranspose scatters each input through the kernel, with groups") {
    Node node = make_node("ConvTranspose", 2);
    node.set_attr_ints("strides", {2});
    node.set_attr_int("group", 2);
    const Tensor x = tensor_from_vector<float>({1, 2, 10, 20}, {1, 2, 2});
    const Tensor w = tensor_from_vector<float>({1, 1, 1, 2, 2, 2}, {2, 1, 3});
    // Group 0: 1 and 2 spread over [0, 3) and [2, 5), overlapping at 2. Group 1 likewise, doubled.
    check_values(run_one(node, {x, w}), {1, 2, 5}, {1, 1, 3, 2, 2, 20, 20, 60, 40, 40});
}

TEST_CASE("MatMul with 1-D operands follows numpy") {
    Node matmul = make_node("MatMul", 2);
    const Tensor v = tensor_from_vector<float>({1, 2, 3}, {3});
    check_values(run_one(matmul, {v, v}), {}, {14});
    const Tensor m = tensor_from_vector<float>(iota(12), {2, 2, 3});
    // [2, 2, 3] x [3] -> [2, 2]: each row dotted with v.
    check_values(run_one(matmul, {m, v}), {2, 2}, {14, 32, 50, 68});
    // [2] x [2, 2, 3] -> [2, 3]: v2 times each matrix.
    const Tensor v2 = tensor_from_vector<float>({1, -1}, {2});
    check_values(run_one(matmul, {v2, m}), {2, 3}, {-3, -3, -3, -3, -3, -3});
    const Tensor bad = tensor_from_vector<float>({1, 2}, {2});
    CHECK(run_reference(matmul, {m, bad}).status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("pools with ceil_mode: partial last windows and the one that is dropped") {
    const Tensor x = tensor_from_vector<float>(iota(6), {1, 1, 6});
    Node max_pool = make_node("MaxPool", 1);
    max_pool.set_attr_ints("kernel_shape", {3});
    max_pool.set_attr_ints("strides", {2});
    max_pool.set_attr_ints("pads", {1, 1});
    max_pool.set_attr_int("ceil_mode", 1);
    // Windows start at -1, 1, 3, 5; the last covers 5, the end pad 6 and 7 beyond it.
    check_values(run_one(max_pool, {x}), {1, 1, 4}, {2, 4, 6, 6});

    Node average = max_pool;
    average.proto.set_op_type("AveragePool");
    check_values(run_one(average, {x}), {1, 1, 4}, {1.5f, 3, 5, 6});
    average.set_attr_int("count_include_pad", 1);
    // The end pad counts, the position past it does not: (6 + 0) / 2.
    check_values(run_one(average, {x}), {1, 1, 4}, {1, 3, 5, 3});

    Node dropped = make_node("MaxPool", 1);
    dropped.set_attr_ints("kernel_shape", {2});
    dropped.set_attr_ints("strides", {2});
    dropped.set_attr_ints("pads", {1, 1});
    dropped.set_attr_int("ceil_mode", 1);
    const Tensor five = tensor_from_vector<float>(iota(5), {1, 1, 5});
    check_values(run_one(dropped, {five}), {1, 1, 3}, {1, 3, 5});  // no window starting in the end padding
}

TEST_CASE("MaxPool Indices, row-major and column-major") {
    Node node = make_node("MaxPool", 1, 2);
    node.set_attr_ints("kernel_shape", {2, 2});
    const Tensor x = tensor_from_vector<float>({0, 1, 0, 0, 0, 9, 2, 0, 0}, {1, 1, 3, 3});
    auto outputs = run_reference(node, {x});
    REQUIRE(outputs.ok());
    CHECK(tensor_to_int64s((*outputs)[1]) == std::vector<int64_t>{1, 5, 6, 5});
    node.set_attr_int("storage_order", 1);
    outputs = run_reference(node, {x});
    REQUIRE(outputs.ok());
    CHECK(tensor_to_int64s((*outputs)[1]) == std::vector<int64_t>{3, 7, 2, 7});
}

TEST_CASE("Softmax coerces to 2-D before opset 13 and uses one axis after") {
    Node softmax = make_node("Softmax", 1);
    softmax.set_attr_int("axis", 0);
    const Tensor x = tensor_from_vector<float>({0, 0, 0, 0}, {2, 2});
    check_values(run_one(softmax, {x}, 11), {2, 2}, {0.25f, 0.25f, 0.25f, 0.25f});
    check_values(run_one(softmax, {x}, 13), {2, 2}, {0.5f, 0.5f, 0.5f, 0.5f});
}

TEST_CASE("reverse RNN with sequence lengths starts each sequence at its own end") {
    Node rnn = make_node("RNN", 5, 2);
    rnn.proto.set_input(3, "");  // no bias
    rnn.set_attr_int("hidden_size", 1);
    rnn.set_attr_string("direction", "reverse");
    rnn.proto.mutable_attribute()->Add()->set_name("activations");
    rnn.proto.mutable_attribute(rnn.proto.attribute_size() - 1)->set_type(onnx::AttributeProto::STRINGS);
    rnn.proto.mutable_attribute(rnn.proto.attribute_size() - 1)->add_strings("Affine");  // identity: alpha 1, beta 0
    // h_t = x_t + 0.5 h_{t+1}. Batch 0 has 3 steps, batch 1 has 2 (its third input is ignored).
    const Tensor x = tensor_from_vector<float>({1, 10, 2, 20, 3, 30}, {3, 2, 1});
    const Tensor w = tensor_from_vector<float>({1}, {1, 1, 1});
    const Tensor r = tensor_from_vector<float>({0.5f}, {1, 1, 1});
    const Tensor lengths = tensor_from_vector<int32_t>({3, 2}, {2});
    auto outputs = run_reference(rnn, {x, w, r, Tensor(), lengths}, 14);
    REQUIRE_MESSAGE(outputs.ok(), outputs.status().message());
    check_values((*outputs)[0], {3, 1, 2, 1}, {2.75f, 20, 3.5f, 20, 3, 0});
    check_values((*outputs)[1], {1, 2, 1}, {2.75f, 20});

    const Tensor too_long = tensor_from_vector<int32_t>({4, 2}, {2});
    CHECK(run_reference(rnn, {x, w, r, Tensor(), too_long}, 14).status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("malformed shapes are refused cleanly, never crash") {
    struct OpCase {
        const char* op;
        int inputs;
        int outputs;
    };
    const OpCase cases[] = {{"Conv", 3, 1},
                            {"ConvTranspose", 3, 1},
                            {"Gemm", 3, 1},
                            {"MatMul", 2, 1},
                            {"BatchNormalization", 5, 1},
                            {"MaxPool", 1, 2},
                            {"AveragePool", 1, 1},
                            {"LpPool", 1, 1},
                            {"GlobalAveragePool", 1, 1},
                            {"GlobalMaxPool", 1, 1},
                            {"LRN", 1, 1},
                            {"Softmax", 1, 1},
                            {"LogSoftmax", 1, 1},
                            {"Hardmax", 1, 1},
                            {"LayerNormalization", 3, 3},
                            {"InstanceNormalization", 3, 1},
                            {"MeanVarianceNormalization", 1, 1},
                            {"RNN", 6, 2},
                            {"GRU", 6, 2},
                            {"LSTM", 8, 3}};
    const std::vector<Shape> shapes = {{},        {0},       {3},     {2, 3},    {1, 2, 3, 3},   {1, 2, 0, 3},
                                       {2, 3, 1}, {1, 1, 2}, {4},     {2, 4, 5}, {4, 2, 2, 2},   {1, 4, 3, 3},
                                       {1, 6, 2}, {1, 8, 2}, {1, 12}, {1, 16},   {2, 2, 2, 2, 2}};
    const std::vector<DType> dtypes = {DType::kF32, DType::kF16, DType::kF64, DType::kI32};
    uint32_t seed = 12345;
    auto next = [&seed] { return (seed = seed * 1664525u + 1013904223u) >> 8; };
    for (const OpCase& c : cases) {
        Node node = make_node(c.op, c.inputs, c.outputs);
        node.set_attr_ints("kernel_shape", {2, 2});
        node.set_attr_int("size", 3);
        node.set_attr_int("hidden_size", 2);
        node.set_attr_int("group", 2);
        node.set_attr_ints("strides", {2, 1});
        for (int trial = 0; trial < 400; ++trial) {
            std::vector<Tensor> inputs;
            for (int i = 0; i < c.inputs; ++i) {
                const bool omitted = i > 0 && next() % 4 == 0;
                const DType dtype = next() % 3 ? DType::kF32 : dtypes[next() % dtypes.size()];
                inputs.push_back(omitted ? Tensor() : Tensor(dtype, shapes[next() % shapes.size()]));
            }
            auto outputs = run_reference(node, inputs, 17);
            CAPTURE(c.op);
            CHECK((outputs.ok() || outputs.status().code() == ErrorCode::kInvalidInput ||
                   outputs.status().code() == ErrorCode::kUnsupported));
        }
    }
}

namespace {

// Sets a STRINGS attribute (the Node API has setters for numbers and single strings only).
void set_strings(Node& node, const std::string& name, const std::vector<std::string>& values) {
    auto* attribute = node.proto.add_attribute();
    attribute->set_name(name);
    attribute->set_type(onnx::AttributeProto::STRINGS);
    for (const auto& value : values) attribute->add_strings(value);
}

}  // namespace

TEST_CASE("RNN clip bounds the pre-activations") {
    Node rnn = make_node("RNN", 3);
    rnn.set_attr_int("hidden_size", 1);
    rnn.set_attr_float("clip", 1.0f);
    set_strings(rnn, "activations", {"Affine"});
    const Tensor x = tensor_from_vector<float>({3, -5}, {2, 1, 1});
    const Tensor w = tensor_from_vector<float>({1}, {1, 1, 1});
    const Tensor r = tensor_from_vector<float>({0}, {1, 1, 1});
    check_values(run_one(rnn, {x, w, r}, 14), {2, 1, 1, 1}, {1, -1});
}

TEST_CASE("LSTM gate order, input_forget and the cell state output") {
    // Identity activations and zero weights leave only the biases (order i, o, f, c): i = 0.25, o = 2, f = 0.5,
    // candidate = 4, from the initial cell state 8.
    Node lstm = make_node("LSTM", 7, 3);
    lstm.proto.set_input(4, "");
    lstm.proto.set_input(5, "");
    lstm.set_attr_int("hidden_size", 1);
    set_strings(lstm, "activations", {"Affine", "Affine", "Affine"});
    const Tensor x = tensor_from_vector<float>({1}, {1, 1, 1});
    const Tensor w = tensor_from_vector<float>({0, 0, 0, 0}, {1, 4, 1});
    const Tensor r = tensor_from_vector<float>({0, 0, 0, 0}, {1, 4, 1});
    const Tensor b = tensor_from_vector<float>({0.25f, 2, 0.5f, 4, 0, 0, 0, 0}, {1, 8});
    const Tensor c0 = tensor_from_vector<float>({8}, {1, 1, 1});
    auto outputs = run_reference(lstm, {x, w, r, b, Tensor(), Tensor(), c0}, 14);
    REQUIRE_MESSAGE(outputs.ok(), outputs.status().message());
    check_values((*outputs)[2], {1, 1, 1}, {5});   // c = 0.5 * 8 + 0.25 * 4
    check_values((*outputs)[1], {1, 1, 1}, {10});  // h = 2 * c

    lstm.set_attr_int("input_forget", 1);  // f = 1 - i = 0.75
    outputs = run_reference(lstm, {x, w, r, b, Tensor(), Tensor(), c0}, 14);
    REQUIRE(outputs.ok());
    check_values((*outputs)[2], {1, 1, 1}, {7});
}

TEST_CASE("BatchNormalization before opset 9 with spatial=0 keeps statistics per element") {
    Node bn = make_node("BatchNormalization", 5);
    bn.set_attr_int("spatial", 0);
    bn.set_attr_float("epsilon", 0.0f);
    const Tensor x = tensor_from_vector<float>(iota(8, 0), {2, 2, 2});
    const Tensor ones = tensor_from_vector<float>({1, 1, 1, 1}, {2, 2});
    const Tensor zeros = tensor_from_vector<float>({0, 0, 0, 0}, {2, 2});
    const Tensor mean = tensor_from_vector<float>({0, 1, 2, 3}, {2, 2});
    check_values(run_one(bn, {x, ones, zeros, mean, ones}, 7), {2, 2, 2}, {0, 0, 0, 0, 4, 4, 4, 4});
}

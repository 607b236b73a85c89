// If, Loop and Scan through a Session: runtime and constant conditions, outer-scope reads (nested too), trip count
// and condition handling, zero iterations, scan axes and directions, and opset-8 Scan with sequence_lens.
#include <doctest/doctest.h>

#include "model_builder.h"

using namespace pare;
using namespace pare_test;

namespace {

Graph unary_branch(const std::string& op, const std::string& source, const std::string& output) {
    Graph branch = make_graph({}, {value_info(output, DType::kF32, {3})});
    branch.nodes.push_back(make_node(op, {source}, {output}));
    return branch;
}

Node if_node(const std::string& cond, const std::string& output, const std::string& source) {
    Node node = make_node("If", {cond}, {output});
    attach_subgraph(node, "then_branch", unary_branch("Neg", source, output + "_then"));
    attach_subgraph(node, "else_branch", unary_branch("Abs", source, output + "_else"));
    return node;
}

Tensor scalar_bool(bool value) {
    return tensor_from_vector<bool>({value}, {});
}
Tensor scalar_i64(int64_t value) {
    return tensor_from_vector<int64_t>({value}, {});
}

}  // namespace

TEST_CASE("If picks a branch at run time and the branches read an outer-scope value") {
    Graph g = make_graph({value_info("cond", DType::kBool, {}), value_info("x", DType::kF32, {3})},
                         {value_info("y", DType::kF32, {-1}, false)});
    g.nodes.push_back(if_node("cond", "y", "x"));
    const Tensor x = tensor_from_vector<float>({-1.0f, 2.0f, -3.0f}, {3});
    auto then_result = run_graph(g, 16, {scalar_bool(true), x});
    REQUIRE(then_result.ok());
    CHECK(tensor_to_floats((*then_result)[0]) == std::vector<float>{1.0f, -2.0f, 3.0f});
    auto else_result = run_graph(g, 16, {scalar_bool(false), x});
    REQUIRE(else_result.ok());
    CHECK(tensor_to_floats((*else_result)[0]) == std::vector<float>{1.0f, 2.0f, 3.0f});
}

TEST_CASE("If with a constant condition and a constant outer value") {
    Graph g = make_graph({}, {value_info("y", DType::kF32, {3})});
    g.set_initializer("cond", scalar_bool(false));
    g.set_initializer("x", tensor_from_vector<float>({-4.0f, 5.0f, -6.0f}, {3}));
    g.nodes.push_back(if_node("cond", "y", "x"));
    g.nodes.push_back(make_node("Neg", {"y"}, {"z"}));
    *g.header.add_output() = value_info("z", DType::kF32, {3});
    auto result = run_graph(g, 16, {});
    REQUIRE(result.ok());
    CHECK(tensor_to_floats((*result)[0]) == std::vector<float>{4.0f, 5.0f, 6.0f});
    CHECK(tensor_to_floats((*result)[1]) == std::vector<float>{-4.0f, -5.0f, -6.0f});
}

TEST_CASE("If rejects a condition with several elements and branches with the wrong output count") {
    Graph g = make_graph({value_info("cond", DType::kBool, {2}), value_info("x", DType::kF32, {3})},
                         {value_info("y", DType::kF32, {3})});
    g.nodes.push_back(if_node("cond", "y", "x"));
    auto result = run_graph(g, 16, {tensor_from_vector<bool>({true, false}, {2}), Tensor(DType::kF32, {3})});
    CHECK(result.status().code() == ErrorCode::kInvalidInput);

    Graph h = make_graph({value_info("cond", DType::kBool, {})}, {value_info("y", DType::kF32, {3})});
    Node node = if_node("cond", "y", "x");
    node.proto.add_output("extra");
    h.nodes.push_back(node);
    CHECK(run_graph(h, 16, {scalar_bool(true)}).status().code() == ErrorCode::kInvalidInput);
}

namespace {

// Loop body (i, cond_in, v_in) -> (cond_out, v_out = Neg(v_in), scan_i = i, scan_v = Abs(v_in)); cond_out is the
// outer value `keep_going` when given, else the incoming condition.
Graph loop_body(const std::string& condition_source) {
    Graph body = make_graph({value_info("i", DType::kI64, {}), value_info("cond_in", DType::kBool, {}),
                             value_info("v_in", DType::kF32, {2})},
                            {value_info(condition_source, DType::kBool, {}), value_info("v_out", DType::kF32, {2}),
                             value_info("i", DType::kI64, {}), value_info("scan_v", DType::kF32, {2})});
    body.nodes.push_back(make_node("Neg", {"v_in"}, {"v_out"}));
    body.nodes.push_back(make_node("Abs", {"v_in"}, {"scan_v"}));
    return body;
}

Graph loop_graph(const std::string& trip_count, const std::string& cond, const std::string& condition_source) {
    std::vector<onnx::ValueInfoProto> inputs;
    if (!trip_count.empty()) inputs.push_back(value_info(trip_count, DType::kI64, {}));
    if (!cond.empty()) inputs.push_back(value_info(cond, DType::kBool, {}));
    inputs.push_back(value_info("v", DType::kF32, {2}));
    Graph g = make_graph(inputs, {value_info("v_final", DType::kF32, {2}, false),
                                  value_info("iters", DType::kI64, {-1}), value_info("values", DType::kF32, {-1, 2})});
    Node node = make_node("Loop", {trip_count, cond, "v"}, {"v_final", "iters", "values"});
    attach_subgraph(node, "body", loop_body(condition_source));
    g.nodes.push_back(node);
    return g;
}

}  // namespace

TEST_CASE("Loop with a trip count: carried value, stacked scan outputs") {
    const Tensor v = tensor_from_vector<float>({1.0f, -2.0f}, {2});
    auto result = run_graph(loop_graph("M", "cond", "cond_in"), 16, {scalar_i64(3), scalar_bool(true), v});
    REQUIRE(result.ok());
    CHECK(tensor_to_floats((*result)[0]) == std::vector<float>{-1.0f, 2.0f});
    CHECK((*result)[1].shape() == Shape{3});
    CHECK(tensor_to_int64s((*result)[1]) == std::vector<int64_t>{0, 1, 2});
    CHECK((*result)[2].shape() == Shape{3, 2});
    CHECK(tensor_to_floats((*result)[2]) == std::vector<float>{1, 2, 1, 2, 1, 2});

    auto no_cond = run_graph(loop_graph("M", "", "cond_in"), 16, {scalar_i64(2), v});
    REQUIRE(no_cond.ok());
    CHECK(tensor_to_int64s((*no_cond)[1]) == std::vector<int64_t>{0, 1});
}

TEST_CASE("Loop stops when the body's condition is false and runs zero times on a false cond") {
    Graph g = loop_graph("", "cond", "keep_going");  // no trip count: a while loop on an outer value
    g.set_initializer("keep_going", scalar_bool(false));
    const Tensor v = tensor_from_vector<float>({1.0f, -2.0f}, {2});
    auto once = run_graph(g, 16, {scalar_bool(true), v});
    REQUIRE(once.ok());
    CHECK(tensor_to_int64s((*once)[1]) == std::vector<int64_t>{0});
    CHECK(tensor_to_floats((*once)[0]) == std::vector<float>{-1.0f, 2.0f});

    auto never = run_graph(g, 16, {scalar_bool(false), v});
    REQUIRE(never.ok());
    CHECK(tensor_to_floats((*never)[0]) == std::vector<float>{1.0f, -2.0f});
    CHECK((*never)[1].shape() == Shape{0});
    CHECK((*never)[2].shape() == Shape{0, 2});  // the body declares scan_v as [2]

    auto zero_trips = run_graph(loop_graph("M", "cond", "cond_in"), 16, {scalar_i64(0), scalar_bool(true), v});
    REQUIRE(zero_trips.ok());
    CHECK((*zero_trips)[2].shape() == Shape{0, 2});
}

TEST_CASE("Loop body with a nested If reading the outermost scope") {
    Graph body = make_graph({value_info("i", DType::kI64, {}), value_info("cond_in", DType::kBool, {}),
                             value_info("v_in", DType::kF32, {3})},
                            {value_info("cond_in", DType::kBool, {}), value_info("v_out", DType::kF32, {3})});
    body.nodes.push_back(if_node("flag", "v_out", "x"));  // reads `flag` and `x` from the main graph
    Graph g = make_graph(
        {value_info("M", DType::kI64, {}), value_info("flag", DType::kBool, {}), value_info("x", DType::kF32, {3})},
        {value_info("v_final", DType::kF32, {3})});
    g.set_initializer("cond", scalar_bool(true));
    g.set_initializer("v0", Tensor(DType::kF32, {3}));
    Node node = make_node("Loop", {"M", "cond", "v0"}, {"v_final"});
    attach_subgraph(node, "body", std::move(body));
    g.nodes.push_back(node);
    const Tensor x = tensor_from_vector<float>({-1.0f, 2.0f, -3.0f}, {3});
    auto result = run_graph(g, 16, {scalar_i64(2), scalar_bool(false), x});
    REQUIRE(result.ok());
    CHECK(tensor_to_floats((*result)[0]) == std::vector<float>{1.0f, 2.0f, 3.0f});
}

namespace {

// Scan body (s_in, element) -> (s_out = element, forward = Neg(s_in), backward = Neg(s_in)).
Graph scan_body() {
    Graph body = make_graph({value_info("s_in", DType::kF32, {2}), value_info("element", DType::kF32, {2})},
                            {value_info("element", DType::kF32, {2}), value_info("forward", DType::kF32, {2}),
                             value_info("backward", DType::kF32, {2})});
    body.nodes.push_back(make_node("Neg", {"s_in"}, {"forward"}));
    body.nodes.push_back(make_node("Neg", {"s_in"}, {"backward"}));
    return body;
}

}  // namespace

TEST_CASE("Scan opset 9: input axis and reverse direction, output axes and directions") {
    Graph g = make_graph({value_info("s", DType::kF32, {2}), value_info("x", DType::kF32, {2, 3})},
                         {value_info("final", DType::kF32, {2}), value_info("fwd", DType::kF32, {2, 3}),
                          value_info("bwd", DType::kF32, {2, 3})});
    Node node = make_node("Scan", {"s", "x"}, {"final", "fwd", "bwd"});
    node.set_attr_int("num_scan_inputs", 1);
    node.set_attr_ints("scan_input_axes", {1});
    node.set_attr_ints("scan_input_directions", {1});
    node.set_attr_ints("scan_output_axes", {1, -1});
    node.set_attr_ints("scan_output_directions", {0, 1});
    attach_subgraph(node, "body", scan_body());
    g.nodes.push_back(node);
    auto result = run_graph(
        g, 11, {tensor_from_vector<float>({0, 0}, {2}), tensor_from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3})});
    REQUIRE(result.ok());
    // Columns are visited 2, 1, 0; each iteration emits the negated previous state.
    CHECK(tensor_to_floats((*result)[0]) == std::vector<float>{1, 4});
    CHECK(tensor_to_floats((*result)[1]) == std::vector<float>{0, -3, -2, 0, -6, -5});
    CHECK(tensor_to_floats((*result)[2]) == std::vector<float>{-2, -3, 0, -5, -6, 0});
}

TEST_CASE("Scan opset 8: batch axis, sequence_lens and zero padding") {
    Graph body = make_graph({value_info("s_in", DType::kF32, {2}), value_info("element", DType::kF32, {2})},
                            {value_info("element", DType::kF32, {2}), value_info("out", DType::kF32, {2})});
    body.nodes.push_back(make_node("Neg", {"s_in"}, {"out"}));
    Graph g = make_graph({value_info("s", DType::kF32, {2, 2}), value_info("x", DType::kF32, {2, 2, 2})},
                         {value_info("final", DType::kF32, {2, 2}), value_info("y", DType::kF32, {2, 2, 2})});
    g.set_initializer("lens", tensor_from_vector<int64_t>({2, 1}, {2}));
    Node node = make_node("Scan", {"lens", "s", "x"}, {"final", "y"});
    node.set_attr_int("num_scan_inputs", 1);
    attach_subgraph(node, "body", std::move(body));
    g.nodes.push_back(node);
    auto result = run_graph(g, 8,
                            {tensor_from_vector<float>({10, 20, 30, 40}, {2, 2}),
                             tensor_from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2})});
    REQUIRE(result.ok());
    CHECK(tensor_to_floats((*result)[0]) == std::vector<float>{3, 4, 5, 6});
    CHECK(tensor_to_floats((*result)[1]) == std::vector<float>{-10, -20, -1, -2, -30, -40, 0, 0});
}

#include <doctest/doctest.h>

#include "graph/graph.h"

using namespace pare;

namespace {

Node make_node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
               const std::string& name = "") {
    onnx::NodeProto proto;
    proto.set_op_type(op);
    proto.set_name(name);
    for (const auto& input : inputs) proto.add_input(input);
    for (const auto& output : outputs) proto.add_output(output);
    return Node(std::move(proto));
}

// x -> Relu -> a -> Add(a, w) -> y
Graph small_graph() {
    Graph g;
    g.header.add_input()->set_name("x");
    g.header.add_output()->set_name("y");
    g.set_initializer("w", tensor_from_vector<float>({1, 2}, {2}));
    g.nodes.push_back(make_node("Relu", {"x"}, {"a"}, "relu"));
    g.nodes.push_back(make_node("Add", {"a", "w"}, {"y"}, "add"));
    return g;
}

}  // namespace

TEST_CASE("producers, consumers and constants") {
    Graph g = small_graph();
    CHECK(g.producer("a") == 0);
    CHECK(g.producer("x") == -1);
    CHECK(g.consumers("a") == std::vector<int>{1});
    CHECK(g.input_names() == std::vector<std::string>{"x"});
    REQUIRE(g.constant("w"));
    CHECK(tensor_to_floats(*g.constant("w")) == std::vector<float>{1, 2});
    CHECK_FALSE(g.constant("a"));

    Node constant = make_node("Constant", {}, {"c"});
    constant.set_attr_ints("value_ints", {4, 5});
    g.insert_node(0, constant);
    REQUIRE(g.constant("c"));
    CHECK(tensor_to_int64s(*g.constant("c")) == std::vector<int64_t>{4, 5});
}

TEST_CASE("topological order puts producers first and reports cycles and undefined reads") {
    Graph g = small_graph();
    std::swap(g.nodes[0], g.nodes[1]);  // Add before Relu in file order
    auto order = g.topological_order();
    REQUIRE(order.ok());
    CHECK(*order == std::vector<int>{1, 0});

    g.nodes[1].proto.set_input(0, "y");  // Relu reads Add's output: a cycle
    CHECK(g.topological_order().status().code() == ErrorCode::kInvalidInput);

    Graph h = small_graph();
    h.nodes[1].proto.set_input(1, "nowhere");
    auto broken = h.topological_order();
    REQUIRE_FALSE(broken.ok());
    CHECK(broken.status().message().find("nowhere") != std::string::npos);
}

TEST_CASE("rewriting: insert, replace uses, rename, remove") {
    Graph g = small_graph();
    // Insert Sigmoid between Relu and Add.
    const std::string s = g.unique_name("a");
    CHECK(s == "a_1");
    g.insert_node(1, make_node("Sigmoid", {"a"}, {s}, "sig"));
    g.nodes[2].proto.set_input(0, s);
    CHECK(g.consumers("a") == std::vector<int>{1});
    CHECK(g.topological_order().ok());

    g.replace_uses("a", "x");  // bypass Relu
    CHECK(g.consumers("a").empty());
    g.remove_node(0);
    CHECK(g.topological_order().ok());

    g.rename_value("y", "out");
    CHECK(g.output_names() == std::vector<std::string>{"out"});
    CHECK(g.producer("out") == 1);

    g.set_initializer("w", tensor_from_vector<float>({3, 4}, {2}));
    CHECK(g.initializers.size() == 1);
    CHECK(tensor_to_floats(*g.constant("w")) == std::vector<float>{3, 4});
    g.remove_initializer("w");
    CHECK_FALSE(g.constant("w"));
}

TEST_CASE("subgraph reads of outer values count as uses") {
    Graph g = small_graph();
    auto body = std::make_unique<Graph>();
    body->header.add_output()->set_name("z");
    body->nodes.push_back(make_node("Neg", {"a"}, {"z"}));  // reads outer 'a'
    Node if_node = make_node("If", {"cond"}, {"r"});
    if_node.subgraphs.emplace_back("then_branch", std::move(body));
    g.header.add_input()->set_name("cond");
    g.nodes.push_back(std::move(if_node));
    CHECK(g.consumers("a") == std::vector<int>{1, 2});
    g.replace_uses("a", "x");
    CHECK(g.nodes[2].subgraph("then_branch")->nodes[0].input(0) == "x");

    Graph copy = g;  // deep copy of subgraphs
    copy.nodes[2].subgraph("then_branch")->nodes[0].proto.set_input(0, "w");
    CHECK(g.nodes[2].subgraph("then_branch")->nodes[0].input(0) == "x");
}

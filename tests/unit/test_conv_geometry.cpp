#include <doctest/doctest.h>

#include "ops/conv_geometry.h"

using namespace pare;

namespace {

Node pool_node(const std::string& auto_pad = "NOTSET") {
    onnx::NodeProto proto;
    proto.set_op_type("MaxPool");
    Node node(std::move(proto));
    if (auto_pad != "NOTSET") node.set_attr_string("auto_pad", auto_pad);
    return node;
}

WindowGeometry forward(const Node& node, Shape input, Shape kernel) {
    auto attributes = read_window_attributes(node);
    REQUIRE(attributes.ok());
    auto geometry = forward_window_geometry(node, *attributes, input, kernel);
    REQUIRE(geometry.ok());
    return *geometry;
}

WindowGeometry transpose(const Node& node, Shape input, Shape kernel) {
    auto attributes = read_window_attributes(node);
    REQUIRE(attributes.ok());
    auto geometry = transpose_window_geometry(node, *attributes, input, kernel);
    REQUIRE(geometry.ok());
    return *geometry;
}

}  // namespace

TEST_CASE("window geometry: SAME_UPPER and SAME_LOWER put the odd pad at opposite ends") {
    Node upper = pool_node("SAME_UPPER");
    upper.set_attr_ints("strides", {2});
    const WindowGeometry u = forward(upper, {5}, {2});
    CHECK(u.output == std::vector<int64_t>{3});  // ceil(5 / 2)
    CHECK(u.pads_begin == std::vector<int64_t>{0});
    CHECK(u.pads_end == std::vector<int64_t>{1});

    Node lower = pool_node("SAME_LOWER");
    lower.set_attr_ints("strides", {2});
    const WindowGeometry l = forward(lower, {5}, {2});
    CHECK(l.output == std::vector<int64_t>{3});
    CHECK(l.pads_begin == std::vector<int64_t>{1});
    CHECK(l.pads_end == std::vector<int64_t>{0});

    Node valid = pool_node("VALID");
    valid.set_attr_ints("strides", {2});
    valid.set_attr_ints("pads", {3, 3});  // ignored under VALID
    const WindowGeometry v = forward(valid, {7}, {3});
    CHECK(v.output == std::vector<int64_t>{3});
    CHECK(v.pads_begin == std::vector<int64_t>{0});
}

TEST_CASE("window geometry: explicit asymmetric pads, dilations and ceil_mode") {
    Node node = pool_node();
    node.set_attr_ints("pads", {1, 0, 0, 2});
    node.set_attr_ints("dilations", {2, 1});
    const WindowGeometry g = forward(node, {7, 4}, {3, 3});
    CHECK(g.pads_begin == std::vector<int64_t>{1, 0});
    CHECK(g.pads_end == std::vector<int64_t>{0, 2});
    CHECK(g.dilated_kernel(0) == 5);
    CHECK(g.output == std::vector<int64_t>{4, 4});  // (7 + 1 - 5) + 1, (4 + 2 - 3) + 1

    // ceil_mode adds the partial last window, except one that would start in the end padding.
    Node ceil = pool_node();
    ceil.set_attr_int("ceil_mode", 1);
    ceil.set_attr_ints("strides", {2});
    ceil.set_attr_ints("pads", {1, 1});
    CHECK(forward(ceil, {6}, {2}).output == std::vector<int64_t>{4});  // windows start at -1, 1, 3, 5
    CHECK(forward(ceil, {5}, {2}).output == std::vector<int64_t>{3});  // a 4th would start at 5: in the padding
}

TEST_CASE("window geometry: malformed configurations are invalid input naming the node") {
    Node node = pool_node();
    node.proto.set_name("p1");
    auto attributes = read_window_attributes(node);
    REQUIRE(attributes.ok());
    auto too_big = forward_window_geometry(node, *attributes, {2}, {3});
    REQUIRE_FALSE(too_big.ok());
    CHECK(too_big.status().code() == ErrorCode::kInvalidInput);
    CHECK(too_big.status().message().find("'p1'") != std::string::npos);

    node.set_attr_ints("strides", {0});
    attributes = read_window_attributes(node);
    CHECK(forward_window_geometry(node, *attributes, {4}, {3}).status().code() == ErrorCode::kInvalidInput);

    Node bad_pad = pool_node("SIDEWAYS");
    CHECK(read_window_attributes(bad_pad).status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("transpose geometry: pads, output_padding and output_shape") {
    Node node = pool_node();
    node.set_attr_ints("strides", {2});
    node.set_attr_ints("pads", {1, 2});
    CHECK(transpose(node, {3}, {3}).output == std::vector<int64_t>{4});  // 2 * (3 - 1) + 3 - (1 + 2)

    Node shaped = pool_node();
    shaped.set_attr_ints("strides", {3});
    shaped.set_attr_ints("output_shape", {1, 1, 8});  // N and C may be included
    const WindowGeometry g = transpose(shaped, {3}, {3});
    CHECK(g.output == std::vector<int64_t>{8});  // the taps reach 9: total padding 1, at the beginning (NOTSET)
    CHECK(g.pads_begin == std::vector<int64_t>{1});
    CHECK(g.pads_end == std::vector<int64_t>{0});

    Node larger = pool_node();
    larger.set_attr_ints("strides", {3});
    larger.set_attr_ints("output_shape", {11});
    const WindowGeometry big = transpose(larger, {3}, {3});
    CHECK(big.output == std::vector<int64_t>{11});  // beyond the taps' reach: extra output padding, not negative pads
    CHECK(big.pads_end == std::vector<int64_t>{0});
    CHECK(big.output_padding == std::vector<int64_t>{2});

    Node same = pool_node("SAME_UPPER");
    same.set_attr_ints("strides", {2});
    const WindowGeometry s = transpose(same, {3}, {3});
    CHECK(s.output == std::vector<int64_t>{6});  // in * stride; the taps reach 7
    CHECK(s.pads_begin == std::vector<int64_t>{0});
    CHECK(s.pads_end == std::vector<int64_t>{1});
}

// The QDQ rewriter folds a Relu or Clip after a layer into the output quantizer only where that is exact: the
// quantizer's saturation must clip where the activation does, so a calibrated range wider than a Clip's upper
// bound keeps the Clip.
#include <doctest/doctest.h>

#include "quantize/qdq_rewriter.h"
#include "recovery_test_util.h"

using namespace pare;
using namespace pare_test;

namespace {

// y = Gemm(Clip(Gemm(x, w), 0, 6), w) (or Relu for the Clip), opset 13 with the bounds as inputs; the second Gemm
// makes the first one's output quantized.
Graph gemm_then(const std::string& activation) {
    Graph graph = make_graph({value_info("x", DType::kF32, {-1, 4})}, {value_info("y", DType::kF32, {-1, 4})});
    graph.set_initializer("w", patterned({4, 4}, 5));
    graph.set_initializer("lo", tensor_from_vector<float>({0.0f}, {}));
    graph.set_initializer("hi", tensor_from_vector<float>({6.0f}, {}));
    add_node(graph, "Gemm", "fc", {"x", "w"}, {"a"});
    if (activation == "Relu") {
        add_node(graph, "Relu", "act", {"a"}, {"r"});
    } else {
        add_node(graph, "Clip", "act", {"a", "lo", "hi"}, {"r"});
    }
    add_node(graph, "Gemm", "fc2", {"r", "w"}, {"y"});
    return graph;
}

// Rewrites with x on [-1, 1] and the activation's output on [0, `top`]; returns the layer and whether the
// activation node is left in the graph.
std::pair<QuantizedLayer, bool> rewritten(const std::string& activation, double top) {
    Graph graph = gemm_then(activation);
    const RangeLookup ranges = [top](const std::string& tensor, Range& range) {
        range = tensor == "x" ? Range{-1.0, 1.0} : Range{0.0, top};
        return tensor == "x" || tensor == "r";
    };
    auto layers = rewrite_to_qdq(graph, 13, QdqSpec(), ranges);
    REQUIRE(layers.ok());
    REQUIRE(layers->size() == 2);
    bool kept = false;
    for (const Node& node : graph.nodes) kept = kept || node.op_type() == activation;
    return {(*layers)[0], kept};
}

}  // namespace

TEST_CASE("QDQ rewriter: Relu and Clip fold into the output quantizer only within the Clip's bounds") {
    // Relu: the zero point at the lowest level clips negatives already, for any upper end.
    auto [relu, relu_kept] = rewritten("Relu", 20.0);
    CHECK_FALSE(relu_kept);
    CHECK(relu.absorbed_activation == "Relu");
    // Clip(0, 6) with a range at or under 6: 6 quantizes to the highest level, the quantizer clips there too.
    for (double top : {6.0, 4.5}) {
        auto [layer, kept] = rewritten("Clip", top);
        CHECK_FALSE(kept);
        CHECK(layer.absorbed_activation == "Clip");
    }
    // A range reaching past 6 (a table made before the Clip was bounded, a hand-edited range): values in (6, 10]
    // would pass the quantizer unclipped, so the Clip stays and the layer's output is quantized after it.
    auto [wide, wide_kept] = rewritten("Clip", 10.0);
    CHECK(wide_kept);
    CHECK(wide.absorbed_activation.empty());
}

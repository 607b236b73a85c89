// The accuracy-budget search (quantize/budget_search.h) on callbacks that stand for models, and the per-layer
// activation width of the QDQ rewriter it relies on, on the fragile MLP.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "exec/session.h"
#include "fragile_model.h"
#include "quantize/budget_search.h"
#include "quantize/qdq_rewriter.h"

using namespace pare;
using namespace pare_test;

namespace {

// Candidates whose drop is the sum of per-layer damages at their rung and whose size is the sum of per-layer bytes
// at their rung; every drop measurement is counted.
struct FakeModels {
    std::map<std::string, std::vector<double>> damage;  // layer -> damage at rung 0, 1, 2
    std::map<std::string, std::vector<int64_t>> bytes;  // layer -> bytes at rung 0, 1, 2
    int measured = 0;

    CandidateSize size() {
        return [this](const RungAssignment& rungs) -> Result<int64_t> {
            int64_t total = 0;
            for (const auto& [layer, per_rung] : bytes) total += per_rung[rung(rungs, layer)];
            return total;
        };
    }
    CandidateDrop drop() {
        return [this](const RungAssignment& rungs) -> Result<double> {
            ++measured;
            double total = 0;
            for (const auto& [layer, per_rung] : damage) total += per_rung[rung(rungs, layer)];
            return total;
        };
    }
    static size_t rung(const RungAssignment& rungs, const std::string& layer) {
        auto it = rungs.find(layer);
        return it == rungs.end() ? 0 : static_cast<size_t>(it->second);
    }
};

const std::function<bool()> kNever = [] { return false; };

BudgetLimits drop_limit(double points) {
    BudgetLimits limits;
    limits.max_drop = points;
    return limits;
}

}  // namespace

TEST_CASE("budget search: the one fragile layer moves first, alone, and 16-bit activations suffice") {
    FakeModels models;
    models.damage = {{"layer_a", {0.02, 0.0, 0.0}}, {"layer_b", {3.0, 0.01, 0.0}}, {"layer_c", {0.02, 0.0, 0.0}}};
    models.bytes = {{"layer_a", {16, 16, 64}}, {"layer_b", {16, 16, 64}}, {"layer_c", {8, 8, 32}}};
    auto result =
        search_budget({"layer_b", "layer_a", "layer_c"}, 3, drop_limit(0.1), models.size(), models.drop(), kNever);
    REQUIRE(result.ok());
    CHECK(result->met);
    REQUIRE(result->steps.size() == 2);
    CHECK(result->steps[0].outcome == "start");
    CHECK(result->steps[1].layers == std::vector<std::string>{"layer_b"});
    CHECK(result->steps[1].to == 1);
    CHECK(result->steps[1].outcome == "met");
    CHECK(result->best == RungAssignment{{"layer_b", 1}});
    CHECK(result->best_drop == doctest::Approx(0.05));
    CHECK(result->evaluations == 2);
}

TEST_CASE("budget search: groups grow 1, 2, 4 and the group that meets the budget is bisected to its shortest prefix") {
    FakeModels models;
    std::vector<std::string> ranked;
    for (int i = 0; i < 16; ++i) {
        const std::string name = "l" + std::to_string(i);
        ranked.push_back(name);
        models.damage[name] = {1.0, 0.0, 0.0};
        models.bytes[name] = {1, 2, 4};
    }
    // 16 points at the start; the budget needs 10 layers moved: groups {l0} {l1 l2} {l3..l6} miss (9 points left),
    // {l7..l14} meets (1 point); the bisection finds that l7..l9 (3 layers of the 8) are the shortest prefix.
    auto result = search_budget(ranked, 3, drop_limit(6.0), models.size(), models.drop(), kNever);
    REQUIRE(result.ok());
    CHECK(result->met);
    CHECK(result->best.size() == 10);
    CHECK(result->best_drop == doctest::Approx(6.0));
    for (int i = 0; i < 10; ++i) CHECK(result->best.at("l" + std::to_string(i)) == 1);
    // start + 4 groups + bisection of 8 (3 measurements) instead of 10 one-layer steps.
    CHECK(result->evaluations == 8);
    CHECK(models.measured == 8);
    CHECK(result->steps[4].outcome == "met");
    CHECK(result->steps[4].layers.size() == 8);
}

TEST_CASE(
    "budget search: float only after every layer tried 16-bit activations, and the smallest model that meets wins") {
    FakeModels models;
    models.damage = {{"a", {1.0, 0.6, 0.0}}, {"b", {0.5, 0.4, 0.0}}};
    models.bytes = {{"a", {10, 10, 40}}, {"b", {100, 100, 400}}};
    auto result = search_budget({"a", "b"}, 3, drop_limit(0.5), models.size(), models.drop(), kNever);
    REQUIRE(result.ok());
    CHECK(result->met);
    // start (1.5), a->16 (1.1), b->16 (1.0), a->float (0.4: met).
    REQUIRE(result->steps.size() == 4);
    CHECK(result->steps[3].layers == std::vector<std::string>{"a"});
    CHECK(result->steps[3].from == std::vector<int>{1});
    CHECK(result->steps[3].to == 2);
    CHECK(result->best == RungAssignment{{"a", 2}, {"b", 1}});
    CHECK(result->best_bytes == 140);
}

TEST_CASE("budget search: fallbacks over --max-size are not taken, and unreachable budgets keep the best drop") {
    FakeModels models;
    models.damage = {{"a", {1.0, 0.6, 0.0}}, {"b", {0.5, 0.4, 0.0}}};
    models.bytes = {{"a", {10, 10, 40}}, {"b", {100, 100, 400}}};
    BudgetLimits limits = drop_limit(0.0001);
    limits.max_size = 150;
    auto result = search_budget({"a", "b"}, 3, limits, models.size(), models.drop(), kNever);
    REQUIRE(result.ok());
    CHECK_FALSE(result->met);
    // b to float would make 440 bytes: refused without being evaluated.
    const auto refused = std::find_if(result->steps.begin(), result->steps.end(),
                                      [](const BudgetStep& s) { return s.outcome == "over_size"; });
    REQUIRE(refused != result->steps.end());
    CHECK(refused->layers == std::vector<std::string>{"b"});
    CHECK_FALSE(refused->drop.has_value());
    CHECK(result->best == RungAssignment{{"a", 2}, {"b", 1}});
    CHECK(result->best_drop == doctest::Approx(0.4));
    CHECK(result->best_bytes <= 150);

    // A size limit below the starting model: nothing can shrink it; the start is the best, the gap is reported.
    BudgetLimits tiny;
    tiny.max_size = 50;
    auto small = search_budget({"a", "b"}, 3, tiny, models.size(), models.drop(), kNever);
    REQUIRE(small.ok());
    CHECK_FALSE(small->met);
    CHECK(small->steps.size() == 1);
    CHECK(small->best.empty());
    CHECK(small->best_bytes == 110);
}

TEST_CASE("budget search: when the time is up the best model so far is kept") {
    FakeModels models;
    models.damage = {{"a", {1.0, 0.5, 0.0}}, {"b", {1.0, 0.5, 0.0}}};
    models.bytes = {{"a", {1, 1, 4}}, {"b", {1, 1, 4}}};
    int asked = 0;
    const std::function<bool()> after_one = [&] { return ++asked > 1; };
    auto result = search_budget({"a", "b"}, 3, drop_limit(0.0), models.size(), models.drop(), after_one);
    REQUIRE(result.ok());
    CHECK(result->out_of_time);
    CHECK_FALSE(result->met);
    CHECK(result->evaluations == 2);
    CHECK(result->best == RungAssignment{{"a", 1}});
}

TEST_CASE("QDQ rewriter: a per-layer 16-bit override widens that layer's activations only, and restores accuracy") {
    const Tensor x = fragile_mlp_inputs(64);
    // Ranges from the float model's own values.
    const Model float_model = fragile_mlp_model();
    const std::map<std::string, Shape> shapes = {{"x", x.shape()}};
    auto reference = Session::create(float_model, shapes, SessionOptions()).value();
    std::map<std::string, std::pair<float, float>> ranges;
    SessionOptions observing;
    observing.observed = {"x", "a", "b", "y"};
    Model observed_model = fragile_mlp_model();
    auto observer = Session::create(observed_model, shapes, observing).value();
    observer->set_observer([&](const std::string& name, const Tensor& value) {
        const float* v = value.data<float>();
        const auto [lo, hi] = std::minmax_element(v, v + value.numel());
        ranges[name] = {*lo, *hi};
    });
    REQUIRE(observer->run({x}).ok());
    const RangeLookup lookup = [&](const std::string& name, Range& range) {
        auto it = ranges.find(name);
        if (it == ranges.end()) return false;
        range = Range{it->second.first, it->second.second};
        return true;
    };
    const std::vector<float> expected = [&] {
        auto out = reference->run({x}).value();
        return std::vector<float>(out[0].data<float>(), out[0].data<float>() + out[0].numel());
    }();
    auto error_of = [&](const QdqSpec& spec, Model& model) {
        REQUIRE(rewrite_to_qdq(model.graph, 13, spec, lookup).ok());
        auto* import = model.header.add_opset_import();
        import->set_domain("com.microsoft");
        import->set_version(1);
        auto session = Session::create(model, shapes, SessionOptions()).value();
        auto out = session->run({x}).value();
        double noise = 0;
        for (size_t i = 0; i < expected.size(); ++i) noise += std::pow(out[0].data<float>()[i] - expected[i], 2);
        return noise;
    };
    Model int8 = fragile_mlp_model(), mixed = fragile_mlp_model();
    QdqSpec spec;
    const double int8_noise = error_of(spec, int8);
    spec.activation_overrides["layer_b"] = DType::kU16;
    const double mixed_noise = error_of(spec, mixed);
    MESSAGE("output squared error: int8 " << int8_noise << ", layer_b with 16-bit activations " << mixed_noise);
    CHECK(mixed_noise < int8_noise / 100);

    // a (layer_b's input, layer_a's output) and b (layer_b's output) are 16-bit in com.microsoft Q/DQ; x stays 8-bit.
    std::map<std::string, std::pair<std::string, DType>> quantizers;  // quantized tensor -> domain, zero-point dtype
    for (const Node& node : mixed.graph.nodes) {
        if (node.op_type() != "QuantizeLinear") continue;
        quantizers[node.input(0)] = {node.proto.domain(), mixed.graph.constant(node.input(2))->dtype()};
    }
    CHECK(quantizers.at("x") == std::make_pair(std::string(), DType::kU8));
    CHECK(quantizers.at("a_float") == std::make_pair(std::string("com.microsoft"), DType::kU16));
    CHECK(quantizers.at("b_float") == std::make_pair(std::string("com.microsoft"), DType::kU16));
}

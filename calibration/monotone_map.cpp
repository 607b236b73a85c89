#include "calibration/monotone_map.h"

#include <algorithm>
#include <cmath>

#include "graph/pass_util.h"

namespace pare {

std::optional<MinMax> MonotoneMap::apply(const MinMax& row) const {
    if (row.empty()) return row;
    const float lo = static_cast<float>(row.min), hi = static_cast<float>(row.max), c = a;
    const auto image_of = [&](float x) {
        switch (kind) {
            case Kind::kClamp:
                return std::min(std::max(x, a), b);
            case Kind::kAdd:
                return x + c;
            case Kind::kMul:
                return x * c;
            case Kind::kDiv:
                return x / c;
            case Kind::kSubtractFrom:
                return c - x;
        }
        return x;
    };
    MinMax image;
    image.add(image_of(lo));
    image.add(image_of(hi));
    if (!std::isfinite(image.min) || !std::isfinite(image.max)) return std::nullopt;
    return image;
}

namespace {

// x op c or c op x with c a float32 scalar constant: the map, or nullopt when the op is not monotone that way round.
std::optional<MonotoneMap> arithmetic_map(const Graph& graph, const Node& node) {
    if (!node.is_onnx_domain() || node.num_inputs() != 2) return std::nullopt;
    const std::string& op = node.op_type();
    for (int constant_index : {1, 0}) {
        const auto c = scalar_constant(graph, node.input(constant_index));
        if (!c || !std::isfinite(*c)) continue;
        const std::string& x = node.input(1 - constant_index);
        const bool c_first = constant_index == 0;
        using Kind = MonotoneMap::Kind;
        if (op == "Add") return MonotoneMap{x, Kind::kAdd, *c};
        if (op == "Sub") return c_first ? MonotoneMap{x, Kind::kSubtractFrom, *c} : MonotoneMap{x, Kind::kAdd, -*c};
        if (op == "Mul" && *c != 0.0f) return MonotoneMap{x, Kind::kMul, *c};
        if (op == "Div" && !c_first && *c != 0.0f) return MonotoneMap{x, Kind::kDiv, *c};
        return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace

std::map<std::string, MonotoneMap> monotone_values(const Graph& graph) {
    std::map<std::string, MonotoneMap> maps;
    for (const Node& node : graph.nodes) {
        if (node.proto.output_size() != 1 || node.proto.input_size() == 0) continue;
        if (const auto bounds = activation_bounds(graph, node)) {
            maps[node.proto.output(0)] =
                MonotoneMap{node.input(0), MonotoneMap::Kind::kClamp, bounds->first, bounds->second};
        } else if (const auto map = arithmetic_map(graph, node)) {
            maps[node.proto.output(0)] = *map;
        }
    }
    return maps;
}

}  // namespace pare

#include "quantize/bias_correction.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "graph/pass_util.h"
#include "report/model_runner.h"

namespace pare {

namespace {

int node_index(const Graph& graph, const std::string& name) {
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        if (graph.nodes[i].name() == name) return static_cast<int>(i);
    }
    return -1;
}

bool is_conv(const Node& node) { return is_op(node, "Conv") || is_op(node, "ConvTranspose"); }

// Per-channel sums of a layer's output over the samples seen so far.
struct ChannelSum {
    std::vector<double> sum;
    int64_t count = 0;  // elements per channel so far

    // Adds the first `rows` samples of one batch; the channels are on `axis` (the last one when negative).
    Status add(const Tensor& value, int64_t axis, int64_t rows, const std::string& layer) {
        if (value.rank() < 2) return invalid_input("layer '" + layer + "': its output has rank < 2");
        if (axis < 0) axis = value.rank() - 1;
        const Tensor values = value.dtype() == DType::kF32 ? value : value.cast(DType::kF32);
        const int64_t channels = value.dim(axis);
        int64_t inner = 1, outer = 1;
        for (int64_t a = axis + 1; a < value.rank(); ++a) inner *= value.dim(a);
        for (int64_t a = 1; a < axis; ++a) outer *= value.dim(a);
        // A fixed-batch model pads the last batch: only the first `rows` samples are real.
        const int64_t samples = std::min(rows, value.dim(0));
        if (sum.empty()) sum.assign(static_cast<size_t>(channels), 0.0);
        if (static_cast<int64_t>(sum.size()) != channels) return invalid_input("layer '" + layer + "' changed width");
        const float* v = values.data<float>();
        // One thread per channel, each summing in a fixed order: the same sums for any thread count.
#pragma omp parallel for
        for (int64_t c = 0; c < channels; ++c) {
            double channel = 0.0;
            for (int64_t o = 0; o < samples * outer; ++o) {
                const float* src = v + (o * channels + c) * inner;
                for (int64_t i = 0; i < inner; ++i) channel += src[i];
            }
            sum[static_cast<size_t>(c)] += channel;
        }
        const int64_t numel = samples * outer * channels * inner;
        count += channels == 0 ? 0 : numel / channels;
        return Status();
    }
};

// Per-channel sums of the values named in `axes` (value -> channel axis, -1 for the last) of `model` over the data.
Result<std::map<std::string, ChannelSum>> channel_sums(const Model& model, const std::map<std::string, int64_t>& axes,
                                                       Dataset& dataset, int64_t batch, SessionOptions options,
                                                       const std::string& what) {
    for (const auto& [name, axis] : axes) options.observed.insert(name);
    ModelRunner runner(model, options, what);
    std::map<std::string, ChannelSum> sums;
    int64_t rows = 0;
    Status observed;
    runner.set_observer([&](const std::string& name, const Tensor& value) {
        auto it = axes.find(name);
        if (it != axes.end() && observed.ok()) observed = sums[name].add(value, it->second, rows, name);
    });
    if (runner.fixed_batch()) batch = runner.fixed_batch();
    PARE_RETURN_IF_ERROR(dataset.for_each_batch(batch, [&](int64_t, const std::vector<Tensor>& inputs) -> Status {
        rows = inputs[0].dim(0);
        PARE_RETURN_IF_ERROR(runner.run(inputs).status());
        return observed;
    }));
    return sums;
}

// Where a layer's per-channel bias lives: an initializer read by nothing else, the factor it enters with (Gemm's
// beta), or none yet (`add`: a Conv or Gemm without one).
struct BiasSlot {
    std::string name;
    float factor = 1.0f;
    bool add = false;
    bool found() const { return add || !name.empty(); }
};

// A float vector initializer read once, with `channels` elements on its last axis (any count when negative).
bool is_private_vector(const Graph& graph, const std::string& name, int64_t channels) {
    if (name.empty() || !graph.find_initializer(name) || graph.consumers(name).size() != 1) return false;
    auto value = graph.constant(name);
    if (!value || value->dtype() != DType::kF32 || value->rank() < 1) return false;
    if (channels < 0) return value->numel() == value->dim(value->rank() - 1);
    return value->numel() == channels && value->dim(value->rank() - 1) == channels;
}

BiasSlot find_bias_slot(const Graph& graph, const Node& node, int64_t channels) {
    BiasSlot slot;
    if (is_conv(node) || is_op(node, "Gemm")) {
        slot.factor = is_op(node, "Gemm") ? node.attr_float("beta", 1.0f) : 1.0f;
        if (node.num_inputs() > 2 && node.has_input(2)) {
            if (is_private_vector(graph, node.input(2), channels)) slot.name = node.input(2);
        } else {
            slot.add = slot.factor == 1.0f;
        }
    } else if (is_op(node, "MatMul")) {
        const auto readers = graph.consumers(node.output(0));
        if (readers.size() == 1 && is_op(graph.nodes[readers[0]], "Add") && !is_graph_output(graph, node.output(0))) {
            const Node& adder = graph.nodes[readers[0]];
            for (int i = 0; i < adder.num_inputs() && slot.name.empty(); ++i) {
                if (is_private_vector(graph, adder.input(i), channels)) slot.name = adder.input(i);
            }
        }
    }
    return slot;
}

// Subtracts the shift from node `index`'s bias (adding one when the slot says so); returns the bias's name, or ""
// when the layer has no bias to edit.
std::string apply_shift(Graph& graph, size_t index, const BiasShift& shift, BiasCorrectionResult& result) {
    const int64_t channels = static_cast<int64_t>(shift.mean_error.size());
    BiasSlot slot = find_bias_slot(graph, graph.nodes[index], channels);
    if (!slot.found()) {
        result.skipped.push_back(shift.layer);
        return "";
    }
    Tensor bias = slot.add ? Tensor(DType::kF32, {channels}) : graph.constant(slot.name)->clone();
    for (int64_t c = 0; c < channels; ++c) {
        bias.data<float>()[c] -= static_cast<float>(shift.mean_error[static_cast<size_t>(c)] / slot.factor);
    }
    if (slot.add) {
        Node& node = graph.nodes[index];
        slot.name = graph.unique_name(node.name() + "_bias");
        while (node.num_inputs() < 2) node.proto.add_input("");
        if (node.num_inputs() == 2)
            node.proto.add_input(slot.name);
        else
            node.proto.set_input(2, slot.name);
        ++result.added;
    }
    graph.set_initializer(slot.name, bias);
    ++result.corrected;
    return slot.name;
}

// One correctable layer: its output in the float and in the quantized model (the compute node's own, before any
// output quantizer or absorbed activation), and its level.
struct Target {
    std::string layer;
    std::string float_value;
    std::string quantized_value;
    int64_t axis;  // channel axis of the output: 1 for a Conv, the last (-1) otherwise
    int level;
};

// The quantized layers whose bias can absorb a shift, each with its level: the number of correctable layers on the
// longest path from the graph inputs to it. Layers of one level do not feed each other. The others go to `skipped`.
std::vector<Target> plan_targets(const Graph& graph, const Graph& quantized, const std::vector<QuantizedLayer>& layers,
                                 std::vector<std::string>& skipped) {
    std::set<std::string> quantized_layers;
    for (const QuantizedLayer& layer : layers) quantized_layers.insert(layer.node);
    std::map<std::string, int> depth;  // value -> correctable layers on its longest path
    std::vector<Target> targets;
    for (const Node& node : graph.nodes) {
        int level = 0;
        for (const auto& input : node.proto.input()) {
            auto it = depth.find(input);
            if (it != depth.end()) level = std::max(level, it->second);
        }
        bool target = false;
        if (quantized_layers.count(node.name())) {
            const int q = node_index(quantized, node.name());
            if (q >= 0 && find_bias_slot(graph, node, -1).found()) {
                targets.push_back(Target{node.name(), node.output(0), quantized.nodes[q].output(0),
                                         is_conv(node) ? 1 : -1, level});
                target = true;
            } else {
                skipped.push_back(node.name());
            }
        }
        for (const auto& output : node.proto.output()) depth[output] = level + (target ? 1 : 0);
    }
    return targets;
}

}  // namespace

BiasCorrectionResult correct_biases(Graph& graph, const std::vector<BiasShift>& shifts) {
    BiasCorrectionResult result;
    for (const BiasShift& shift : shifts) {
        const int index = node_index(graph, shift.layer);
        if (index >= 0) apply_shift(graph, static_cast<size_t>(index), shift, result);
    }
    return result;
}

Result<BiasCorrectionResult> correct_biases_sequentially(Model& float_model, const Model& quantized,
                                                         const std::vector<QuantizedLayer>& layers, Dataset& dataset,
                                                         int64_t batch, const SessionOptions& options) {
    BiasCorrectionResult result;
    const std::vector<Target> targets = plan_targets(float_model.graph, quantized.graph, layers, result.skipped);
    if (targets.empty()) return result;
    // The float model's means, before any of its biases changes.
    std::map<std::string, int64_t> float_axes;
    int levels = 0;
    for (const Target& t : targets) {
        float_axes[t.float_value] = t.axis;
        levels = std::max(levels, t.level + 1);
    }
    PARE_ASSIGN_OR_RETURN(const auto float_sums,
                          channel_sums(float_model, float_axes, dataset, batch, options, "float model"));

    Model current = quantized;  // the quantized model with the corrections made so far
    double squares = 0.0;
    int64_t channels = 0;
    for (int level = 0; level < levels; ++level) {
        std::map<std::string, int64_t> axes;
        for (const Target& t : targets) {
            if (t.level == level) axes[t.quantized_value] = t.axis;
        }
        PARE_ASSIGN_OR_RETURN(const auto sums,
                              channel_sums(current, axes, dataset, batch, options, "bias correction pass"));
        ++result.passes;
        for (const Target& t : targets) {
            if (t.level != level) continue;
            auto f = float_sums.find(t.float_value);
            auto q = sums.find(t.quantized_value);
            if (f == float_sums.end() || q == sums.end() || f->second.count == 0 || q->second.count == 0) continue;
            if (f->second.sum.size() != q->second.sum.size()) {
                return invalid_input("layer '" + t.layer + "': its quantized output has another width");
            }
            BiasShift shift{t.layer, {}};
            for (size_t c = 0; c < f->second.sum.size(); ++c) {
                const double error = q->second.sum[c] / static_cast<double>(q->second.count) -
                                     f->second.sum[c] / static_cast<double>(f->second.count);
                shift.mean_error.push_back(error);
                squares += error * error;
            }
            channels += static_cast<int64_t>(shift.mean_error.size());
            const std::string bias = apply_shift(float_model.graph,
                                                 static_cast<size_t>(node_index(float_model.graph, t.layer)), shift,
                                                 result);
            if (bias.empty()) continue;
            // The quantized copy reads the corrected float bias (its int32 form differs by under half a step of
            // input scale x weight scale); a MatMul's Add reads the same name in both models.
            Tensor value = *float_model.graph.constant(bias);
            Node& node = current.graph.nodes[static_cast<size_t>(node_index(current.graph, t.layer))];
            if (is_op(node, "MatMul")) {
                current.graph.set_initializer(bias, value);
                continue;
            }
            const std::string name = current.graph.unique_name("pare_bias_correction/" + t.layer);
            current.graph.set_initializer(name, value);
            while (node.num_inputs() < 3) node.proto.add_input("");
            node.proto.set_input(2, name);
        }
    }
    if (channels > 0) result.shift_rms = std::sqrt(squares / static_cast<double>(channels));
    return result;
}

}  // namespace pare

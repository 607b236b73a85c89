#include "quantize/bias_correction.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "graph/pass_util.h"
#include "graph/passes.h"
#include "report/model_runner.h"

namespace pare {

namespace {

bool is_conv(const Node& node) { return is_op(node, "Conv") || is_op(node, "ConvTranspose"); }

// Per-channel sums of a layer's output error (quantized - float) over the elements whose float value lies inside
// (lo, hi), the range in which the activation after the layer passes it on: where the float output is clipped away,
// the error does not reach the next layer and says nothing about the bias.
struct ChannelError {
    float lo = -std::numeric_limits<float>::infinity();
    float hi = std::numeric_limits<float>::infinity();
    std::vector<double> sum;
    std::vector<int64_t> count;

    // Adds the first `rows` samples of one batch; the channels are on `axis` (the last one when negative).
    Status add(const Tensor& reference, const Tensor& value, int64_t axis, int64_t rows, const std::string& layer) {
        if (value.rank() < 2 || reference.shape() != value.shape()) {
            return invalid_input("layer '" + layer + "': its quantized output has another shape than the float one");
        }
        if (axis < 0) axis = value.rank() - 1;
        const Tensor expected = reference.cast(DType::kF32), got = value.cast(DType::kF32);
        const int64_t channels = value.dim(axis);
        int64_t inner = 1, outer = 1;
        for (int64_t a = axis + 1; a < value.rank(); ++a) inner *= value.dim(a);
        for (int64_t a = 1; a < axis; ++a) outer *= value.dim(a);
        // A fixed-batch model pads the last batch: only the first `rows` samples are real.
        const int64_t samples = std::min(rows, value.dim(0));
        if (sum.empty()) {
            sum.assign(static_cast<size_t>(channels), 0.0);
            count.assign(static_cast<size_t>(channels), 0);
        }
        if (static_cast<int64_t>(sum.size()) != channels) return invalid_input("layer '" + layer + "' changed width");
        const float* f = expected.data<float>();
        const float* q = got.data<float>();
        // One thread per channel, each summing in a fixed order: the same sums for any thread count.
#pragma omp parallel for
        for (int64_t c = 0; c < channels; ++c) {
            double error = 0.0;
            int64_t n = 0;
            for (int64_t o = 0; o < samples * outer; ++o) {
                const int64_t start = (o * channels + c) * inner;
                for (int64_t i = start; i < start + inner; ++i) {
                    if (!(f[i] > lo && f[i] < hi)) continue;
                    error += static_cast<double>(q[i]) - f[i];
                    ++n;
                }
            }
            sum[static_cast<size_t>(c)] += error;
            count[static_cast<size_t>(c)] += n;
        }
        return Status();
    }
};

// One correctable layer: its output in the float and in the quantized model (the compute node's own, before any
// output quantizer or absorbed activation), and its level.
struct Target {
    std::string layer;
    std::string float_value;
    std::string quantized_value;
    int64_t axis;  // channel axis of the output: 1 for a Conv, the last (-1) otherwise
    int level;
    std::pair<float, float> passed;  // the range the activation reading the output alone passes on
};

// `model` computing only what `outputs` need: they become its outputs (a pass measuring one level of layers skips
// the layers after them).
Model truncated(const Model& model, const std::set<std::string>& outputs) {
    Model part = model;
    part.graph.header.clear_output();
    for (const auto& name : outputs) part.graph.header.add_output()->set_name(name);
    remove_dead_nodes(part.graph);
    return part;
}

// Runs the float and the quantized model on the same batches and sums each target's error per channel, within the
// range its activation passes on; by float value. Memory: the targets' float values of one batch.
Result<std::map<std::string, ChannelError>> channel_errors(const Model& float_model, const Model& quantized,
                                                           const std::vector<const Target*>& targets, Dataset& dataset,
                                                           int64_t batch, const SessionOptions& options) {
    SessionOptions float_options = options, quantized_options = options;
    std::map<std::string, const Target*> by_quantized;
    std::map<std::string, ChannelError> errors;
    for (const Target* t : targets) {
        float_options.observed.insert(t->float_value);
        quantized_options.observed.insert(t->quantized_value);
        by_quantized[t->quantized_value] = t;
        errors[t->float_value].lo = t->passed.first;
        errors[t->float_value].hi = t->passed.second;
    }
    const Model float_part = truncated(float_model, float_options.observed);
    const Model quantized_part = truncated(quantized, quantized_options.observed);
    ModelRunner float_runner(float_part, float_options, "float model");
    ModelRunner quantized_runner(quantized_part, quantized_options, "bias correction pass");
    std::map<std::string, Tensor> reference;  // this batch's float values
    int64_t rows = 0;
    Status observed;
    float_runner.set_observer([&](const std::string& name, const Tensor& value) {
        if (float_options.observed.count(name)) reference[name] = value.clone();
    });
    quantized_runner.set_observer([&](const std::string& name, const Tensor& value) {
        auto it = by_quantized.find(name);
        if (it == by_quantized.end() || !observed.ok()) return;
        const Target& t = *it->second;
        auto f = reference.find(t.float_value);
        if (f == reference.end()) return;
        observed = errors[t.float_value].add(f->second, value, t.axis, rows, t.layer);
    });
    if (float_runner.fixed_batch()) batch = float_runner.fixed_batch();
    PARE_RETURN_IF_ERROR(dataset.for_each_batch(batch, [&](int64_t, const std::vector<Tensor>& inputs) -> Status {
        rows = inputs[0].dim(0);
        reference.clear();
        PARE_RETURN_IF_ERROR(float_runner.run(inputs).status());
        PARE_RETURN_IF_ERROR(quantized_runner.run(inputs).status());
        return observed;
    }));
    return errors;
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

// Subtracts the shift from node `index`'s bias (adding one when the slot says so) and records the bias's name, or
// the layer as skipped when it has no bias to edit.
void apply_shift(Graph& graph, size_t index, const BiasShift& shift, BiasCorrectionResult& result) {
    const int64_t channels = static_cast<int64_t>(shift.mean_error.size());
    BiasSlot slot = find_bias_slot(graph, graph.nodes[index], channels);
    if (!slot.found()) {
        result.skipped.push_back(shift.layer);
        return;
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
    result.biases[shift.layer] = slot.name;
}

// The range of values a layer's output goes on with: that of the Relu or Clip reading it alone, else everything.
std::pair<float, float> passed_range(const Graph& graph, const Node& node) {
    constexpr float kInf = std::numeric_limits<float>::infinity();
    const auto readers = graph.consumers(node.output(0));
    if (readers.size() != 1 || is_graph_output(graph, node.output(0))) return {-kInf, kInf};
    return activation_bounds(graph, graph.nodes[readers[0]]).value_or(std::make_pair(-kInf, kInf));
}

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
                                         is_conv(node) ? 1 : -1, level, passed_range(graph, node)});
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
    int levels = 0;
    for (const Target& t : targets) levels = std::max(levels, t.level + 1);
    const Model reference = float_model;  // the float model as it was, which every pass compares with
    Model current = quantized;            // the quantized model with the corrections made so far
    double squares = 0.0;
    int64_t channels = 0;
    for (int level = 0; level < levels; ++level) {
        std::vector<const Target*> level_targets;
        for (const Target& t : targets) {
            if (t.level == level) level_targets.push_back(&t);
        }
        PARE_ASSIGN_OR_RETURN(const auto errors,
                              channel_errors(reference, current, level_targets, dataset, batch, options));
        ++result.passes;
        std::vector<BiasShift> shifts;
        for (const Target* t : level_targets) {
            const ChannelError& error = errors.at(t->float_value);
            if (error.sum.empty()) continue;
            BiasShift shift{t->layer, {}};
            for (size_t c = 0; c < error.sum.size(); ++c) {
                // A channel whose float output never passed the activation keeps its bias.
                const double mean = error.count[c] ? error.sum[c] / static_cast<double>(error.count[c]) : 0.0;
                shift.mean_error.push_back(mean);
                squares += mean * mean;
            }
            channels += static_cast<int64_t>(shift.mean_error.size());
            shifts.push_back(std::move(shift));
        }
        const BiasCorrectionResult applied = correct_biases(float_model.graph, shifts);
        result.corrected += applied.corrected;
        result.added += applied.added;
        result.skipped.insert(result.skipped.end(), applied.skipped.begin(), applied.skipped.end());
        for (const auto& [layer, bias] : applied.biases) {
            result.biases[layer] = bias;
            // The quantized copy reads the corrected float bias (its int32 form differs by under half a step of
            // input scale x weight scale); a MatMul's Add reads the same name in both models.
            const Tensor value = *float_model.graph.constant(bias);
            Node& node = current.graph.nodes[static_cast<size_t>(node_index(current.graph, layer))];
            if (is_op(node, "MatMul")) {
                current.graph.set_initializer(bias, value);
                continue;
            }
            const std::string name = current.graph.unique_name("pare_bias_correction/" + layer);
            current.graph.set_initializer(name, value);
            while (node.num_inputs() < 3) node.proto.add_input("");
            node.proto.set_input(2, name);
        }
    }
    if (channels > 0) result.shift_rms = std::sqrt(squares / static_cast<double>(channels));
    return result;
}

}  // namespace pare

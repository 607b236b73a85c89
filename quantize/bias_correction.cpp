#include "quantize/bias_correction.h"

#include <algorithm>
#include <map>
#include <set>

#include "graph/pass_util.h"

namespace pare {

namespace {

const Node* find_node(const Graph& graph, const std::string& name) {
    for (const Node& node : graph.nodes) {
        if (node.name() == name) return &node;
    }
    return nullptr;
}

bool is_conv(const Node& node) { return is_op(node, "Conv") || is_op(node, "ConvTranspose"); }

// Per-channel sums of (local - reference) over the first `rows` samples of one batch.
struct ChannelMean {
    std::vector<double> sum;
    int64_t count = 0;  // elements per channel so far

    Status add(const Tensor& reference, const Tensor& local, int64_t axis, int64_t rows, const std::string& layer) {
        if (reference.shape() != local.shape() || reference.rank() <= axis || reference.rank() < 2) {
            return invalid_input("layer '" + layer + "': its quantized copy's output has another shape");
        }
        const Tensor expected = reference.cast(DType::kF32), got = local.cast(DType::kF32);
        const int64_t channels = reference.dim(axis);
        int64_t inner = 1;
        for (int64_t a = axis + 1; a < reference.rank(); ++a) inner *= reference.dim(a);
        // A fixed-batch model pads the last batch: only the first `rows` samples are real.
        const int64_t samples = std::min(rows, reference.dim(0));
        const int64_t numel = reference.numel() / reference.dim(0) * samples;
        if (sum.empty()) sum.assign(static_cast<size_t>(channels), 0.0);
        if (static_cast<int64_t>(sum.size()) != channels) return invalid_input("layer '" + layer + "' changed width");
        const float* e = expected.data<float>();
        const float* g = got.data<float>();
        for (int64_t i = 0; i < numel; ++i) {
            sum[static_cast<size_t>((i / inner) % channels)] += static_cast<double>(g[i]) - e[i];
        }
        count += numel / channels;
        return Status();
    }
};

// The bias vector a layer's output channels add, by name, with the factor it enters with (Gemm's beta); "" when
// it has none that can be edited alone.
struct BiasSlot {
    std::string name;
    float factor = 1.0f;
};

bool is_private_vector(const Graph& graph, const std::string& name, size_t channels) {
    if (name.empty() || !graph.find_initializer(name) || graph.consumers(name).size() != 1) return false;
    auto value = graph.constant(name);
    return value && value->dtype() == DType::kF32 && value->numel() == static_cast<int64_t>(channels) &&
           value->rank() >= 1 && value->dim(value->rank() - 1) == static_cast<int64_t>(channels);
}

}  // namespace

Result<std::vector<BiasShift>> measure_bias_shifts(const LocalErrorGraph& graph, Dataset& dataset, int64_t batch,
                                                   const SessionOptions& options) {
    struct Probe {
        const LocalProbe* probe;
        bool conv;
        ChannelMean mean;
    };
    std::vector<Probe> probes;
    std::set<std::string> observed;
    for (const LocalProbe& probe : graph.probes) {
        const Node* node = find_node(graph.model.graph, probe.layer);
        if (!node || probe.node_local.empty() || !(is_conv(*node) || is_op(*node, "Gemm") || is_op(*node, "MatMul"))) {
            continue;
        }
        probes.push_back(Probe{&probe, is_conv(*node), ChannelMean()});
        observed.insert(probe.node_reference);
        observed.insert(probe.node_local);
    }
    std::vector<BiasShift> shifts;
    if (probes.empty()) return shifts;
    PARE_RETURN_IF_ERROR(for_each_observed_batch(
        graph.model, observed, dataset, batch, options, "bias correction graph",
        [&](const std::map<std::string, Tensor>& values, int64_t rows) -> Status {
            for (Probe& p : probes) {
                auto reference = values.find(p.probe->node_reference);
                auto local = values.find(p.probe->node_local);
                if (reference == values.end() || local == values.end()) continue;
                const int64_t axis = p.conv ? 1 : reference->second.rank() - 1;
                PARE_RETURN_IF_ERROR(p.mean.add(reference->second, local->second, axis, rows, p.probe->layer));
            }
            return Status();
        }));
    for (const Probe& p : probes) {
        if (p.mean.count == 0) continue;
        BiasShift shift{p.probe->layer, p.mean.sum};
        for (double& v : shift.mean_error) v /= static_cast<double>(p.mean.count);
        shifts.push_back(std::move(shift));
    }
    return shifts;
}

BiasCorrectionResult correct_biases(Graph& graph, const std::vector<BiasShift>& shifts) {
    BiasCorrectionResult result;
    for (const BiasShift& shift : shifts) {
        int index = -1;
        for (size_t i = 0; i < graph.nodes.size() && index < 0; ++i) {
            if (graph.nodes[i].name() == shift.layer) index = static_cast<int>(i);
        }
        if (index < 0) continue;
        Node& node = graph.nodes[index];
        const size_t channels = shift.mean_error.size();
        BiasSlot slot;
        bool add = false;
        if (is_conv(node) || is_op(node, "Gemm")) {
            slot.factor = is_op(node, "Gemm") ? node.attr_float("beta", 1.0f) : 1.0f;
            if (node.num_inputs() > 2 && node.has_input(2)) {
                if (is_private_vector(graph, node.input(2), channels)) slot.name = node.input(2);
            } else if (slot.factor == 1.0f) {
                add = true;
            }
        } else if (is_op(node, "MatMul")) {
            const auto readers = graph.consumers(node.output(0));
            const auto outputs = graph.output_names();
            if (readers.size() == 1 && is_op(graph.nodes[readers[0]], "Add") &&
                std::find(outputs.begin(), outputs.end(), node.output(0)) == outputs.end()) {
                const Node& adder = graph.nodes[readers[0]];
                for (int i = 0; i < adder.num_inputs() && slot.name.empty(); ++i) {
                    if (is_private_vector(graph, adder.input(i), channels)) slot.name = adder.input(i);
                }
            }
        }
        if (slot.name.empty() && !add) {
            result.skipped.push_back(shift.layer);
            continue;
        }
        Tensor bias = add ? Tensor(DType::kF32, {static_cast<int64_t>(channels)}) : graph.constant(slot.name)->clone();
        for (size_t c = 0; c < channels; ++c) {
            bias.data<float>()[c] -= static_cast<float>(shift.mean_error[c] / slot.factor);
        }
        if (add) {
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
    }
    return result;
}

}  // namespace pare

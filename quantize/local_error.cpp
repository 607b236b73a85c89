#include "quantize/local_error.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "core/log.h"
#include "graph/pass_util.h"
#include "report/model_runner.h"

namespace pare {

namespace {

// Quantizers may be ONNX Runtime's contrib ops (16-bit activations below opset 21).
bool is_op_with_contrib_quantizers(const Node& node, const char* op) {
    const bool quantizer = node.op_type() == "QuantizeLinear" || node.op_type() == "DequantizeLinear";
    return (node.is_onnx_domain() || (quantizer && node.proto.domain() == "com.microsoft")) && node.op_type() == op;
}

// Copies the nodes that compute one layer's measured value in the quantized graph into `dst` (the float graph),
// under fresh names. Upstream of the compute node only constants and activation Q -> DQ pairs are copied: a pair's
// QuantizeLinear then reads the float model's own value of that activation.
class LayerCopier {
public:
    LayerCopier(const Graph& quantized, Graph& dst, int compute, const std::string& prefix)
        : src_(quantized), dst_(dst), compute_(compute), prefix_(prefix) {}

    /// dst name of quantized value `name` downstream of (or at) the compute node's output, or nullopt when the
    /// pattern is not one this copier knows.
    std::optional<std::string> copy_output(const std::string& name) {
        const int p = src_.producer(name);
        if (p < 0) return std::nullopt;
        const Node& node = src_.nodes[p];
        if (p == compute_) {
            std::vector<std::string> inputs;
            for (const auto& input : node.proto.input()) {
                auto copied = copy_input(input);
                if (!copied) return std::nullopt;
                inputs.push_back(*copied);
            }
            return add_copy(node, inputs, name);
        }
        const bool chain = is_op_with_contrib_quantizers(node, "QuantizeLinear") ||
                           is_op_with_contrib_quantizers(node, "DequantizeLinear") ||
                           is_op_with_contrib_quantizers(node, "Relu") || is_op_with_contrib_quantizers(node, "Clip");
        if (!chain || node.num_outputs() != 1) return std::nullopt;
        std::vector<std::string> inputs;
        for (int i = 0; i < node.num_inputs(); ++i) {
            auto copied = i == 0 ? copy_output(node.input(0)) : copy_constant_cone(node.input(i));
            if (!copied) return std::nullopt;
            inputs.push_back(*copied);
        }
        return add_copy(node, inputs, name);
    }

    /// dst name of a quantized-graph value this copier copied ("" when it did not).
    std::string copied(const std::string& name) const {
        auto it = copied_.find(name);
        return it == copied_.end() ? std::string() : it->second;
    }

private:
    // An input of the compute node: a constant (cone), DQ(Q(activation)), or a float activation read as it is (the
    // weight-only schemes quantize no activation): the float model's own value.
    std::optional<std::string> copy_input(const std::string& name) {
        if (name.empty()) return name;
        if (auto constant = copy_constant_cone(name)) return constant;
        const int dq = src_.producer(name);
        if (dq < 0 || !is_op_with_contrib_quantizers(src_.nodes[dq], "DequantizeLinear")) {
            return defined_in_float(name) ? std::optional<std::string>(name) : std::nullopt;
        }
        const int q = src_.producer(src_.nodes[dq].input(0));
        if (q < 0 || !is_op_with_contrib_quantizers(src_.nodes[q], "QuantizeLinear")) return std::nullopt;
        // Intermediate activations keep their float name on the DequantizeLinear output; graph inputs are read by
        // the QuantizeLinear under their own name.
        std::string source = name;
        if (!defined_in_float(source)) source = src_.nodes[q].input(0);
        if (!defined_in_float(source)) return std::nullopt;
        std::vector<std::string> q_inputs = {source}, dq_inputs;
        for (int i = 1; i < src_.nodes[q].num_inputs(); ++i) {
            auto copied = copy_constant_cone(src_.nodes[q].input(i));
            if (!copied) return std::nullopt;
            q_inputs.push_back(*copied);
        }
        dq_inputs.push_back(add_copy(src_.nodes[q], q_inputs, src_.nodes[q].output(0)));
        for (int i = 1; i < src_.nodes[dq].num_inputs(); ++i) {
            auto copied = copy_constant_cone(src_.nodes[dq].input(i));
            if (!copied) return std::nullopt;
            dq_inputs.push_back(*copied);
        }
        return add_copy(src_.nodes[dq], dq_inputs, name);
    }

    // A value computed from constants only (a weight behind DequantizeLinear), copied whole; nullopt otherwise.
    std::optional<std::string> copy_constant_cone(const std::string& name) {
        if (name.empty()) return name;
        if (auto it = copied_.find(name); it != copied_.end()) return it->second;
        if (!is_constant_cone(name)) return std::nullopt;
        if (src_.find_initializer(name)) {
            const std::string copy = dst_.unique_name(prefix_ + name);
            dst_.set_initializer(copy, *src_.constant(name));
            return copied_[name] = copy;
        }
        const int p = src_.producer(name);
        if (p < 0 || p == compute_) return std::nullopt;
        std::vector<std::string> inputs;
        for (const auto& input : src_.nodes[p].proto.input()) {
            auto copied = copy_constant_cone(input);
            if (!copied) return std::nullopt;
            inputs.push_back(*copied);
        }
        return add_copy(src_.nodes[p], inputs, name);
    }

    bool is_constant_cone(const std::string& name) {
        if (auto it = constant_.find(name); it != constant_.end()) return it->second;
        bool constant = src_.find_initializer(name) != nullptr;
        const int p = constant ? -1 : src_.producer(name);
        if (p >= 0 && p != compute_) {
            constant = true;
            for (const auto& input : src_.nodes[p].proto.input())
                constant = constant && (input.empty() || is_constant_cone(input));
        }
        return constant_[name] = constant;
    }

    bool defined_in_float(const std::string& name) const {
        const auto inputs = dst_.input_names();
        return dst_.producer(name) >= 0 || std::find(inputs.begin(), inputs.end(), name) != inputs.end();
    }

    // Appends a copy of `node` reading `inputs`; returns the copy's name for the node's output `wanted`.
    std::string add_copy(const Node& node, const std::vector<std::string>& inputs, const std::string& wanted) {
        Node copy = node;
        copy.proto.set_name(dst_.unique_name(prefix_ + node.name()));
        for (size_t i = 0; i < inputs.size(); ++i) copy.proto.set_input(static_cast<int>(i), inputs[i]);
        std::string result;
        for (auto& output : *copy.proto.mutable_output()) {
            if (output.empty()) continue;
            const std::string original = output;
            output = dst_.unique_name(prefix_ + original);
            copied_[original] = output;
            if (original == wanted) result = output;
        }
        dst_.insert_node(dst_.nodes.size(), std::move(copy));
        return result;
    }

    const Graph& src_;
    Graph& dst_;
    int compute_;
    std::string prefix_;
    std::map<std::string, std::string> copied_;  // quantized-graph name -> dst name
    std::map<std::string, bool> constant_;       // whether a quantized-graph value is computed from constants only
};

// Appends a copy of every node of `quantized` under `prefix`, reading the same graph inputs; returns the copy's name
// of each value.
std::map<std::string, std::string> append_model_copy(const Graph& quantized, Graph& dst, const std::string& prefix) {
    std::map<std::string, std::string> names;
    for (const auto& input : quantized.input_names()) names[input] = input;
    for (const auto& init : quantized.initializers) {
        names[init.name()] = dst.unique_name(prefix + init.name());
        dst.set_initializer(names[init.name()], init.value);
    }
    for (const Node& node : quantized.nodes) {
        Node copy = node;
        copy.proto.set_name(prefix + node.name());
        for (auto& input : *copy.proto.mutable_input()) {
            if (!input.empty()) input = names.at(input);
        }
        for (auto& output : *copy.proto.mutable_output()) {
            if (output.empty()) continue;
            names[output] = dst.unique_name(prefix + output);
            output = names[output];
        }
        dst.insert_node(dst.nodes.size(), std::move(copy));
    }
    return names;
}

// Adds one batch of every probe's observed values to its error.
Status add_batch(const std::map<std::string, Tensor>& values, int64_t rows, const std::vector<LocalProbe>& probes,
                 std::vector<ErrorStats>& errors) {
    for (size_t i = 0; i < probes.size(); ++i) {
        auto reference = values.find(probes[i].reference);
        auto local = values.find(probes[i].local);
        if (reference == values.end() || local == values.end()) continue;
        Tensor expected = reference->second, got = local->second;
        // A fixed-batch model pads the last batch: compare only the real samples.
        if (expected.rank() > 0 && expected.dim(0) > rows && got.shape() == expected.shape()) {
            Shape shape = expected.shape();
            shape[0] = rows;
            expected = Tensor(expected.dtype(), shape, expected.buffer(), expected.offset());
            got = Tensor(got.dtype(), shape, got.buffer(), got.offset());
        }
        PARE_RETURN_IF_ERROR(errors[i].add(expected, got).with_context("layer '" + probes[i].layer + "'"));
    }
    return Status();
}

// Runs `model` over the dataset in batches of `batch` (the model's own when it fixes one) and hands `consume` each
// batch's `observed` values (copies, by name) and its sample count. `what` names the model in errors.
using ObservedBatch = std::function<Status(const std::map<std::string, Tensor>& values, int64_t rows)>;
Status for_each_observed_batch(const Model& model, const std::set<std::string>& observed, Dataset& dataset,
                               int64_t batch, const SessionOptions& options, const std::string& what,
                               const ObservedBatch& consume) {
    SessionOptions observing = options;
    observing.observed = observed;
    ModelRunner runner(model, observing, what);
    std::map<std::string, Tensor> values;
    runner.set_observer([&](const std::string& name, const Tensor& value) { values[name] = value.clone(); });
    if (runner.fixed_batch()) batch = runner.fixed_batch();
    return dataset.for_each_batch(batch, [&](int64_t, const std::vector<Tensor>& inputs) -> Status {
        values.clear();
        PARE_RETURN_IF_ERROR(runner.run(inputs).status());
        return consume(values, inputs[0].dim(0));
    });
}

}  // namespace

LocalErrorGraph build_local_error_graph(const Model& float_model, const Model& quantized,
                                        const std::vector<QuantizedLayer>& layers, bool cumulative) {
    LocalErrorGraph result;
    result.model = float_model;
    Graph& graph = result.model.graph;
    for (const QuantizedLayer& layer : layers) {
        // The value the written model carries under the float name: the dequantized output, or the layer's own.
        const std::string measured = layer.output.empty() ? layer.node_output : layer.output;
        const int compute = node_index(quantized.graph, layer.node);
        if (compute < 0 || graph.producer(measured) < 0) {
            log_warning("local error of layer '" + layer.node + "' not measured: it is not in the written model");
            continue;
        }
        const size_t nodes = graph.nodes.size(), initializers = graph.initializers.size();
        LayerCopier copier(quantized.graph, graph, compute, "pare_local/" + layer.node + "/");
        const auto local = copier.copy_output(measured);
        if (!local) {
            // A pattern the copier does not know: drop what it appended.
            graph.nodes.resize(nodes);
            graph.initializers.resize(initializers);
            log_warning("local error of layer '" + layer.node + "' not measured: its quantized form is not QDQ");
            continue;
        }
        result.probes.push_back(LocalProbe{layer.node, measured, *local, layer.node_output,
                                           copier.copied(quantized.graph.nodes[compute].output(0))});
    }
    if (cumulative) {
        const auto names = append_model_copy(quantized.graph, graph, "pare_cumulative/");
        for (const QuantizedLayer& layer : layers) {
            const std::string measured = layer.output.empty() ? layer.node_output : layer.output;
            auto it = names.find(measured);
            if (it != names.end() && graph.producer(measured) >= 0) {
                result.cumulative.push_back(LocalProbe{layer.node, measured, it->second, "", ""});
            }
        }
    }
    return result;
}

Result<LayerErrors> measure_local_errors(const LocalErrorGraph& graph, Dataset& dataset, int64_t batch,
                                         const SessionOptions& options) {
    LayerErrors errors;
    errors.local.resize(graph.probes.size());
    errors.cumulative.resize(graph.cumulative.size());
    if (graph.probes.empty() && graph.cumulative.empty()) return errors;
    std::set<std::string> observed;
    for (const auto* probes : {&graph.probes, &graph.cumulative}) {
        for (const auto& probe : *probes) {
            observed.insert(probe.reference);
            observed.insert(probe.local);
        }
    }
    PARE_RETURN_IF_ERROR(for_each_observed_batch(
        graph.model, observed, dataset, batch, options, "local error graph",
        [&](const std::map<std::string, Tensor>& values, int64_t rows) -> Status {
            for (const auto& [probes, stats] : {std::make_pair(&graph.probes, &errors.local),
                                                std::make_pair(&graph.cumulative, &errors.cumulative)}) {
                PARE_RETURN_IF_ERROR(add_batch(values, rows, *probes, *stats));
            }
            return Status();
        }));
    return errors;
}

}  // namespace pare

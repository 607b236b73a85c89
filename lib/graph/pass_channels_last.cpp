// Runs 2-D convolution networks channels-last. oneDNN's convolutions are 2-30x faster on NHWC data than on NCHW
// data, and converting around every convolution costs up to half of that gain, so whole regions of the graph switch
// layout: every 2-D Conv and pool becomes pare's private op with channels_last = 1, element-wise ops, Concat and
// per-tensor (De)QuantizeLinear between them operate on the NHWC tensors directly, and explicit Transpose nodes
// convert at the region's borders. Values keep honest shapes ([N, H, W, C] for NHWC ones), so any kernel, the
// reference ones included, computes the right thing. A value that leaves the region (read by another op, a graph
// output or kept for observers) is transposed back under its original name; NHWC values get new names.
#include <algorithm>
#include <map>

#include "graph/fused_ops.h"
#include "graph/pass_util.h"
#include "graph/passes.h"

namespace pare {

namespace {

const std::vector<int64_t> kToLast = {0, 2, 3, 1};   // NCHW -> NHWC
const std::vector<int64_t> kToFirst = {0, 3, 1, 2};  // NHWC -> NCHW

bool is_onnx_op(const Node& node, std::initializer_list<const char*> ops) {
    if (!node.is_onnx_domain()) return false;
    return std::any_of(ops.begin(), ops.end(), [&](const char* op) { return node.op_type() == op; });
}

// Ops whose output element i depends only on input element i (scalar or broadcast extra inputs aside).
bool is_elementwise(const Node& node) {
    return is_onnx_op(node,
                      {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "HardSigmoid", "HardSwish", "Elu",      "Selu",
                       "Gelu", "Erf",       "Exp",     "Abs",  "Neg",  "Sqrt",        "Softplus",  "Identity", "Add",
                       "Sub",  "Mul",       "Div",     "Max",  "Min",  "Sum",         "PRelu"});
}

bool is_quantize(const Node& node) { return is_onnx_op(node, {"QuantizeLinear", "DequantizeLinear"}); }

// A channels-first op this pass can turn channels-last, given that its data input is 4-D.
bool is_layout_op(const Graph& graph, const Node& node) {
    if (node.num_outputs() != 1 && !(node.num_outputs() > 1 && node.output(1).empty())) return false;
    const std::string& op = node.op_type();
    if (!(node.is_onnx_domain() || is_pare_node(node)) || is_channels_last(node)) return false;
    if (op == "Conv" || op == "QLinearConv") {
        const auto w = weight_shape(graph, node.input(op == "Conv" ? 1 : 3));
        return w && w->size() == 4;
    }
    if (op == "MaxPool" || op == "AveragePool") return node.attr_ints("kernel_shape").size() == 2;
    return op == "GlobalAveragePool" || op == "GlobalMaxPool";
}

// Where NCHW axis `axis` of a 4-D tensor lives in NHWC.
int64_t nhwc_axis(int64_t axis) {
    static const int64_t positions[4] = {0, 3, 1, 2};
    return positions[axis < 0 ? axis + 4 : axis];
}

class ChannelsLast {
public:
    ChannelsLast(Graph& graph, const std::set<std::string>& keep, LayoutFreeValues* layout_free)
        : graph_(graph), keep_(keep), layout_free_(layout_free) {}

    int run() {
        auto order = graph_.topological_order();
        if (!order.ok()) return 0;
        std::vector<Node> nodes;
        nodes.reserve(graph_.nodes.size());
        for (int index : *order) {
            Node node = graph_.nodes[index];
            if (convert(node, nodes)) {
                ++converted_;
            } else {
                materialize_inputs(node, nodes);
            }
            nodes.push_back(std::move(node));
        }
        if (converted_ == 0) return 0;
        std::set<std::string> leaving = keep_;
        const std::vector<std::string> outputs = graph_.output_names();
        const std::set<std::string> graph_outputs(outputs.begin(), outputs.end());
        leaving.insert(outputs.begin(), outputs.end());
        for (const auto& name : leaving) {
            if (!nhwc_.count(name) || nchw_available_.count(name)) continue;
            if (layout_free_ && layout_free_->names.count(name) && !graph_outputs.count(name)) {
                layout_free_->nhwc_names[name] = nhwc_.at(name);
            } else {
                emit_to_first(name, nodes);
            }
        }
        graph_.nodes = std::move(nodes);
        return converted_;
    }

private:
    // Rewrites `node` to work on NHWC data if it can; emits the Transposes its inputs need first.
    bool convert(Node& node, std::vector<Node>& out) {
        const bool layout = is_layout_op(graph_, node);
        if (layout) {
            const std::string& op = node.op_type();
            if ((op == "GlobalAveragePool" || op == "GlobalMaxPool") && !nhwc_.count(node.input(0))) return false;
            if (op == "Conv" && node.num_inputs() > 3 && node.has_input(3) && !can_feed(node.input(3))) return false;
            rank4_.insert(node.input(0));
            node.proto.set_input(0, nhwc_input(node.input(0), out));
            if (op == "Conv" && node.num_inputs() > 3 && node.has_input(3)) {
                node.proto.set_input(3, nhwc_input(node.input(3), out));
            }
            make_private(node);
            node.set_attr_int("channels_last", 1);
            set_nhwc_output(node);
            return true;
        }
        const bool elementwise = is_elementwise(node) || is_quantize(node) || is_onnx_op(node, {"Concat"});
        if (!elementwise || node.num_outputs() != 1 || !node.subgraphs.empty()) return false;
        // Only the data inputs switch layout: the scale and zero point of (De)QuantizeLinear, Clip's bounds.
        const int data_inputs = is_quantize(node) || node.op_type() == "Clip" ? 1 : node.num_inputs();
        bool any_nhwc = false;
        for (int i = 0; i < data_inputs; ++i) {
            if (!node.has_input(i)) continue;
            any_nhwc = any_nhwc || nhwc_.count(node.input(i));
            if (!can_feed(node.input(i)) && !permutable_constant(node.input(i))) return false;
        }
        if (!any_nhwc) return false;
        if (is_quantize(node)) {
            const auto scale = graph_.constant(node.input(1));
            if (!scale) return false;
            if (scale->numel() != 1) {
                if (node.attr_int("block_size", 0) != 0) return false;
                node.set_attr_int("axis", nhwc_axis(node.attr_int("axis", 1)));
            }
        }
        if (node.op_type() == "Concat") node.set_attr_int("axis", nhwc_axis(node.attr_int("axis", 0)));
        for (int i = 0; i < data_inputs; ++i) {
            if (!node.has_input(i)) continue;
            const std::string& input = node.input(i);
            node.proto.set_input(i, can_feed(input) ? nhwc_input(input, out) : permuted_constant(input));
        }
        set_nhwc_output(node);
        return true;
    }

    // True if `value` is (or can be transposed into) a 4-D NHWC tensor.
    bool can_feed(const std::string& value) const { return nhwc_.count(value) || rank4_.count(value); }

    // A constant whose broadcast against a 4-D tensor can be permuted: rank <= 4 (a scalar stays as it is).
    bool permutable_constant(const std::string& value) const {
        const auto constant = graph_.constant(value);
        return constant && constant->rank() <= 4;
    }

    std::string permuted_constant(const std::string& value) {
        const Tensor constant = *graph_.constant(value);
        if (constant.numel() == 1) return value;
        Shape shape(4 - constant.rank(), 1);
        shape.insert(shape.end(), constant.shape().begin(), constant.shape().end());
        const Tensor nchw = constant.reshaped(shape);
        Tensor nhwc(constant.dtype(), {shape[0], shape[2], shape[3], shape[1]});
        const size_t bytes = dtype_storage_bytes(constant.dtype(), 1);
        const auto* src = static_cast<const char*>(nchw.raw());
        auto* dst = static_cast<char*>(nhwc.raw());
        int64_t i = 0;
        for (int64_t n = 0; n < shape[0]; ++n) {
            for (int64_t h = 0; h < shape[2]; ++h) {
                for (int64_t w = 0; w < shape[3]; ++w) {
                    for (int64_t c = 0; c < shape[1]; ++c, ++i) {
                        const int64_t from = ((n * shape[1] + c) * shape[2] + h) * shape[3] + w;
                        std::copy_n(src + from * bytes, bytes, dst + i * bytes);
                    }
                }
            }
        }
        return add_initializer(graph_, value + "_nhwc", nhwc);
    }

    // The NHWC name of `value`, emitting a Transpose from its NCHW form the first time.
    std::string nhwc_input(const std::string& value, std::vector<Node>& out) {
        auto it = nhwc_.find(value);
        if (it != nhwc_.end()) return it->second;
        const std::string name = graph_.unique_name(value + "_nhwc");
        Node transpose = make_node("Transpose", {value}, {name}, graph_.unique_name(value + "_to_nhwc"));
        transpose.set_attr_ints("perm", kToLast);
        reserve(transpose);
        out.push_back(std::move(transpose));
        nhwc_[value] = name;
        nchw_available_.insert(value);
        return name;
    }

    // Renames the node's output to a fresh NHWC name; its NCHW name is produced later only if someone needs it.
    void set_nhwc_output(Node& node) {
        const std::string original = node.output(0);
        const std::string name = graph_.unique_name(original + "_nhwc");
        node.proto.set_output(0, name);
        reserve(node);
        nhwc_[original] = name;
        rank4_.insert(original);
    }

    // Emits Transposes back to NCHW for the inputs (and outer-scope reads) of a node that stays channels-first.
    void materialize_inputs(const Node& node, std::vector<Node>& out) {
        std::vector<std::string> reads(node.proto.input().begin(), node.proto.input().end());
        for (const auto& [attr, body] : node.subgraphs) {
            for (const auto& name : body->outer_scope_reads()) reads.push_back(name);
        }
        for (const auto& value : reads) {
            if (nhwc_.count(value) && !nchw_available_.count(value)) emit_to_first(value, out);
        }
    }

    void emit_to_first(const std::string& value, std::vector<Node>& out) {
        Node transpose = make_node("Transpose", {nhwc_.at(value)}, {value}, graph_.unique_name(value + "_to_nchw"));
        transpose.set_attr_ints("perm", kToFirst);
        reserve(transpose);
        out.push_back(std::move(transpose));
        nchw_available_.insert(value);
    }

    // unique_name() looks at graph_.nodes, which the rebuilt list replaces only at the end: keep a placeholder
    // there for every new name so later names stay unique.
    void reserve(const Node& node) {
        Node placeholder = make_node("Identity", {}, {node.output(0)}, node.name());
        graph_.nodes.push_back(std::move(placeholder));
    }

    Graph& graph_;
    const std::set<std::string>& keep_;
    LayoutFreeValues* layout_free_;
    std::map<std::string, std::string> nhwc_;  // NCHW name -> name of the same value stored NHWC
    std::set<std::string> nchw_available_;     // values with an NHWC form whose NCHW form is also computed
    std::set<std::string> rank4_;              // values known to be 4-D
    int converted_ = 0;
};

}  // namespace

int convert_to_channels_last(Graph& graph, const std::set<std::string>& keep, LayoutFreeValues* layout_free) {
    const size_t original_count = graph.nodes.size();
    ChannelsLast pass(graph, keep, layout_free);
    const int converted = pass.run();
    if (converted == 0) graph.nodes.resize(original_count);  // drop the name placeholders
    return converted;
}

}  // namespace pare

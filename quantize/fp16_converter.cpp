#include "quantize/fp16_converter.h"

#include <algorithm>
#include <cmath>

#include "core/log.h"
#include "graph/pass_util.h"
#include "graph/passes.h"

namespace pare {

namespace {

// Ops whose output types come from attributes (or that are integer or quantization ops, or run subgraphs): never
// converted, whatever the keep list says.
const std::set<std::string> kTypedOps = {"Cast",
                                         "CastLike",
                                         "Constant",
                                         "ConstantOfShape",
                                         "EyeLike",
                                         "RandomNormal",
                                         "RandomUniform",
                                         "RandomNormalLike",
                                         "RandomUniformLike",
                                         "Multinomial",
                                         "Bernoulli",
                                         "QuantizeLinear",
                                         "DequantizeLinear",
                                         "DynamicQuantizeLinear",
                                         "MatMulInteger",
                                         "ConvInteger",
                                         "QLinearConv",
                                         "QLinearMatMul",
                                         "If",
                                         "Loop",
                                         "Scan"};
const std::set<std::string> kComputeOps = {"Conv", "ConvTranspose", "Gemm", "MatMul"};
constexpr float kF16Max = 65504.0f;

class Converter {
public:
    Converter(Graph& graph, const std::map<std::string, ValueType>& types, const Fp16Spec& spec)
        : graph_(graph), types_(types), spec_(spec) {}

    Fp16Conversion run() {
        const std::vector<Node> original = graph_.nodes;
        for (Node node : original) {
            if (convertible(node)) {
                convert(node);
            } else {
                keep(node);
            }
        }
        for (const auto& output : graph_.output_names()) read_as_f32(output);
        graph_.nodes = std::move(converted_);
        remove_dead_nodes(graph_);
        drop_stale_value_info();
        if (result_.clamped_values > 0) {
            log_warning(std::to_string(result_.clamped_values) + " weight values beyond float16's range (" +
                        clamped_names_ + ") were clamped to +-65504");
        }
        return result_;
    }

private:
    bool is_f32(const std::string& name) const {
        if (name.empty()) return false;
        auto it = types_.find(name);
        if (it != types_.end()) return it->second.dtype == DType::kF32;
        auto constant = graph_.constant(name);
        return constant && constant->dtype() == DType::kF32;
    }

    bool known(const std::string& name) const { return name.empty() || types_.count(name) || graph_.constant(name); }

    bool convertible(const Node& node) const {
        if (!node.is_onnx_domain() || kTypedOps.count(node.op_type()) || spec_.keep_fp32_ops.count(node.op_type()) ||
            spec_.excluded_nodes.count(node.name()) || !node.subgraphs.empty()) {
            return false;
        }
        bool any_f32 = false;
        for (int i = 0; i < node.num_inputs(); ++i) {
            if (!known(node.input(i))) return false;
            any_f32 = any_f32 || is_f32(node.input(i));
        }
        for (int o = 0; o < node.num_outputs(); ++o) {
            if (!known(node.output(o))) return false;
            any_f32 = any_f32 || is_f32(node.output(o));
        }
        return any_f32;
    }

    // Outputs whose type an attribute fixes rather than the inputs: LayerNormalization's mean and inverse standard
    // deviation (stash_type, float32 by default).
    static bool output_keeps_type(const Node& node, int index) {
        return node.op_type() == "LayerNormalization" && index >= 1;
    }

    void convert(Node& node) {
        for (int i = 0; i < node.num_inputs(); ++i) {
            if (is_f32(node.input(i))) node.proto.set_input(i, f16_name(node.input(i)));
        }
        for (int o = 0; o < node.num_outputs(); ++o) {
            const std::string name = node.output(o);
            if (!is_f32(name) || output_keeps_type(node, o)) continue;
            const std::string renamed = graph_.unique_name(name + "_fp16");
            node.proto.set_output(o, renamed);
            f16_[name] = renamed;
            only_f16_.insert(name);
        }
        if (kComputeOps.count(node.op_type()) && node.num_inputs() >= 2) record_layer(node);
        ++result_.nodes_fp16;
        converted_.push_back(std::move(node));
    }

    void keep(Node& node) {
        bool touches_f32 = false;
        for (int i = 0; i < node.num_inputs(); ++i) {
            read_as_f32(node.input(i));
            touches_f32 = touches_f32 || is_f32(node.input(i));
        }
        for (const auto& [name, subgraph] : node.subgraphs) {
            for (const auto& outer : subgraph->outer_scope_reads()) read_as_f32(outer);
        }
        for (int o = 0; o < node.num_outputs(); ++o) touches_f32 = touches_f32 || is_f32(node.output(o));
        if (touches_f32) ++result_.nodes_fp32;
        converted_.push_back(std::move(node));
    }

    // The float16 version of a float32 value: a converted producer's renamed output, a float16 copy of a constant,
    // or a Cast made on first use.
    std::string f16_name(const std::string& name) {
        auto it = f16_.find(name);
        if (it != f16_.end()) return it->second;
        std::string converted;
        if (auto constant = graph_.constant(name)) {
            converted = add_initializer(graph_, name + "_fp16", to_f16(*constant, name));
        } else {
            converted = graph_.unique_name(name + "_fp16");
            add_cast(name, converted, DType::kF16);
        }
        return f16_[name] = converted;
    }

    // Makes a value that only exists in float16 readable in float32 under its original name.
    void read_as_f32(const std::string& name) {
        if (!only_f16_.count(name)) return;
        add_cast(f16_.at(name), name, DType::kF32);
        only_f16_.erase(name);
    }

    void add_cast(const std::string& from, const std::string& to, DType dtype) {
        Node cast = make_node("Cast", {from}, {to}, graph_.unique_name(to + "_Cast"));
        cast.set_attr_int("to", static_cast<int64_t>(dtype));
        converted_.push_back(std::move(cast));
        ++result_.casts;
    }

    Tensor to_f16(const Tensor& value, const std::string& name) {
        Tensor clamped = value.cast(DType::kF32);
        int64_t count = 0;
        for (int64_t i = 0; i < clamped.numel(); ++i) {
            float& v = clamped.data<float>()[i];
            if (std::fabs(v) > kF16Max && !std::isnan(v)) {
                v = std::copysign(kF16Max, v);
                ++count;
            }
        }
        if (count > 0) {
            result_.clamped_values += count;
            clamped_names_ += (clamped_names_.empty() ? "'" : ", '") + name + "'";
        }
        return clamped.cast(DType::kF16);
    }

    void record_layer(const Node& node) {
        const std::string& weight = original_name(node.input(1));
        auto value = graph_.constant(weight);
        if (!value) return;
        QuantizedLayer layer;
        layer.node = node.name();
        layer.op_type = node.op_type();
        layer.weight = weight;
        layer.weight_elements = value->numel();
        layer.input = original_name(node.input(0));
        layer.node_output = original_name(node.output(0));
        result_.layers.push_back(std::move(layer));
    }

    // The float32 name a float16 value stands for.
    std::string original_name(const std::string& name) const {
        for (const auto& [f32, f16] : f16_) {
            if (f16 == name) return f32;
        }
        return name;
    }

    // value_info entries of values that no longer exist under their name (they became float16 under another).
    void drop_stale_value_info() {
        const std::set<std::string> defined = graph_.defined_values();
        auto* infos = graph_.header.mutable_value_info();
        infos->erase(std::remove_if(infos->begin(), infos->end(),
                                    [&](const onnx::ValueInfoProto& info) { return !defined.count(info.name()); }),
                     infos->end());
    }

    Graph& graph_;
    const std::map<std::string, ValueType>& types_;
    const Fp16Spec& spec_;
    std::vector<Node> converted_;
    std::map<std::string, std::string> f16_;  // float32 value -> its float16 version
    std::set<std::string> only_f16_;          // float32 values whose producer now writes float16 only
    Fp16Conversion result_;
    std::string clamped_names_;
};

}  // namespace

const std::set<std::string>& default_fp32_ops() {
    static const std::set<std::string> ops = {"CumSum", "Max",      "Min",  "NonMaxSuppression", "Range",
                                              "Resize", "RoiAlign", "TopK", "Upsample"};
    return ops;
}

Result<Fp16Conversion> convert_to_fp16(Graph& graph, const std::map<std::string, ValueType>& types,
                                       const Fp16Spec& spec) {
    Converter converter(graph, types, spec);
    return converter.run();
}

}  // namespace pare

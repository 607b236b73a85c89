// pare inspect: what a model is made of, without running it.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "common.h"
#include "onnx/shape_inference.h"
#include "report/model_stats.h"
#include "report/report.h"

namespace pare {

namespace {

nlohmann::ordered_json value_json(const onnx::ValueInfoProto& info) {
    const ValueType type = value_type_from_proto(info);
    nlohmann::ordered_json json;
    json["name"] = info.name();
    json["dtype"] = dtype_onnx_name(type.dtype);
    nlohmann::ordered_json dims = nlohmann::ordered_json::array();
    for (size_t i = 0; i < type.shape.size(); ++i) {
        if (type.shape[i] >= 0)
            dims.push_back(type.shape[i]);
        else
            dims.push_back(type.symbolic_dims[i].empty() ? "?" : type.symbolic_dims[i]);
    }
    json["shape"] = type.has_shape ? dims : nlohmann::ordered_json(nullptr);
    return json;
}

nlohmann::ordered_json model_json(const LoadedModel& loaded, const ModelStats& stats) {
    const Model& model = loaded.model;
    nlohmann::ordered_json json;
    json["ir_version"] = model.header.ir_version();
    nlohmann::ordered_json opsets = nlohmann::ordered_json::object();
    for (const auto& entry : model.header.opset_import()) {
        opsets[entry.domain().empty() ? "ai.onnx" : entry.domain()] = entry.version();
    }
    json["opsets"] = opsets;
    json["producer"] = {{"name", model.header.producer_name()}, {"version", model.header.producer_version()}};
    json["graph_name"] = model.graph.name();
    json["file_bytes"] = loaded.file_bytes;
    json["external_data_bytes"] = loaded.external_bytes;
    nlohmann::ordered_json inputs = nlohmann::ordered_json::array();
    for (const auto& input : model.graph.header.input()) {
        if (!model.graph.find_initializer(input.name())) inputs.push_back(value_json(input));
    }
    json["inputs"] = inputs;
    nlohmann::ordered_json outputs = nlohmann::ordered_json::array();
    for (const auto& output : model.graph.header.output()) outputs.push_back(value_json(output));
    json["outputs"] = outputs;
    const nlohmann::ordered_json stats_json = model_stats_to_json(stats);
    for (auto& [key, value] : stats_json.items()) json[key] = value;
    return json;
}

std::string shape_text(const nlohmann::ordered_json& shape) {
    if (shape.is_null()) return "(unknown)";
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) text += ", ";
        text += shape[i].is_string() ? shape[i].get<std::string>() : std::to_string(shape[i].get<int64_t>());
    }
    return text + "]";
}

void print_summary(const nlohmann::ordered_json& m, const LoadedModel& loaded, std::ostream& out) {
    out << "model: " << loaded.path << " (" << with_commas(m["file_bytes"].get<int64_t>()) << " bytes";
    if (m["external_data_bytes"].get<int64_t>()) {
        out << " + " << with_commas(m["external_data_bytes"].get<int64_t>()) << " bytes external data";
    }
    out << ")\n";
    out << "ir_version " << m["ir_version"] << ", opsets:";
    for (auto& [domain, version] : m["opsets"].items()) out << " " << domain << " " << version;
    out << "; producer: " << m["producer"]["name"].get<std::string>() << " "
        << m["producer"]["version"].get<std::string>() << "\n";
    for (const char* kind : {"inputs", "outputs"}) {
        out << kind << ":\n";
        for (const auto& value : m[kind]) {
            out << "  " << value["name"].get<std::string>() << "  " << value["dtype"].get<std::string>() << " "
                << shape_text(value["shape"]) << "\n";
        }
    }
    out << "parameters: " << with_commas(m["parameters"].get<int64_t>()) << " (";
    bool first = true;
    for (auto& [dtype, count] : m["parameters_by_dtype"].items()) {
        out << (first ? "" : ", ") << dtype << " " << with_commas(count.get<int64_t>());
        first = false;
    }
    out << "), non-zero " << with_commas(m["nonzero_parameters"].get<int64_t>()) << "\n";
    out << "constant tensors: " << with_commas(m["constant_bytes"].get<int64_t>()) << " bytes\n";
    out << "nodes: " << m["nodes"] << " in " << (1 + m["subgraphs"].get<int64_t>()) << " graph(s):";
    for (auto& [op, count] : m["op_histogram"].items()) out << " " << op << " " << count;
    out << "\n";
    if (m["layers"].empty()) return;
    out << "layers (MACs per sample):\n";
    char line[256];
    std::snprintf(line, sizeof line, "  %-28s %-14s %-20s %12s %14s\n", "name", "op", "weight shape", "parameters",
                  "MACs");
    out << line;
    for (const auto& layer : m["layers"]) {
        std::string weight =
            layer["weight"].get<std::string>().empty() ? "(computed)" : shape_text(layer["weight_shape"]);
        const int64_t macs = layer["macs"].get<int64_t>();
        std::snprintf(line, sizeof line, "  %-28s %-14s %-20s %12s %14s\n", layer["name"].get<std::string>().c_str(),
                      layer["op_type"].get<std::string>().c_str(), weight.c_str(),
                      with_commas(layer["parameters"].get<int64_t>()).c_str(),
                      macs < 0 ? "?" : with_commas(macs).c_str());
        out << line;
    }
    if (m["macs"].get<int64_t>() >= 0)
        out << "total MACs per sample: " << with_commas(m["macs"].get<int64_t>()) << "\n";
}

}  // namespace

Status run_inspect(const InspectOptions& options, const GlobalOptions& global) {
    PARE_RETURN_IF_ERROR(check_output_paths({{"--report", global.report_path}}, {options.model}));
    PARE_ASSIGN_OR_RETURN(LoadedModel loaded, load_runnable_model(options.model, global));
    const ModelStats stats = compute_model_stats(loaded.model, infer_value_types(loaded.model));
    Report report("inspect", global.argv);
    report.set_input_model(loaded, stats);
    report.json()["model"] = model_json(loaded, stats);
    return emit_report(report, global, options.json,
                       [&](std::ostream& out) { print_summary(report.json()["model"], loaded, out); });
}

}  // namespace pare

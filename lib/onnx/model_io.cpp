#include "onnx/model_io.h"

#include <google/protobuf/io/coded_stream.h>

#include <climits>

#include "core/file_io.h"
#include "core/sha256.h"
#include "onnx/external_data.h"
#include "onnx/model_check.h"
#include "onnx/tensor_proto.h"

namespace pare {

namespace {

struct LiftContext {
    const std::string& base_directory;
    size_t external_bytes = 0;
};

Result<Graph> lift_graph(onnx::GraphProto&& proto, LiftContext& context);

Result<StoredTensor> lift_tensor(const onnx::TensorProto& proto, LiftContext& context) {
    PARE_ASSIGN_OR_RETURN(StoredTensor stored, decode_tensor_proto(proto));
    if (stored.storage == TensorStorage::kExternal) {
        PARE_RETURN_IF_ERROR(read_external_tensor(stored, context.base_directory));
        context.external_bytes += stored.value.nbytes();
    }
    return stored;
}

// Moves tensor and graph attributes out of the proto, leaving payload-less placeholders in place so that attribute
// order survives.
Result<Node> lift_node(onnx::NodeProto&& proto, LiftContext& context) {
    Node node(std::move(proto));
    for (auto& attr : *node.proto.mutable_attribute()) {
        if (attr.has_t()) {
            PARE_ASSIGN_OR_RETURN(StoredTensor stored, lift_tensor(attr.t(), context));
            node.tensor_attributes.emplace_back(attr.name(), std::move(stored));
            attr.clear_t();
        }
        if (attr.has_g()) {
            PARE_ASSIGN_OR_RETURN(Graph body, lift_graph(std::move(*attr.mutable_g()), context));
            node.subgraphs.emplace_back(attr.name(), std::make_unique<Graph>(std::move(body)));
            attr.clear_g();
        }
    }
    return node;
}

Result<Graph> lift_graph(onnx::GraphProto&& proto, LiftContext& context) {
    Graph graph;
    graph.nodes.reserve(static_cast<size_t>(proto.node_size()));
    for (auto& node_proto : *proto.mutable_node()) {
        PARE_ASSIGN_OR_RETURN(Node node, lift_node(std::move(node_proto), context));
        graph.nodes.push_back(std::move(node));
    }
    proto.clear_node();
    graph.initializers.reserve(static_cast<size_t>(proto.initializer_size()));
    for (const auto& init : proto.initializer()) {
        PARE_ASSIGN_OR_RETURN(StoredTensor stored, lift_tensor(init, context));
        graph.initializers.push_back(std::move(stored));
    }
    proto.clear_initializer();
    graph.header = std::move(proto);
    return graph;
}

onnx::TensorProto lower_tensor(const StoredTensor& stored, const ExternalDataPlan* plan) {
    if (stored.storage != TensorStorage::kExternal) {
        onnx::TensorProto proto = encode_tensor_proto(stored);
        if (plan) plan->apply(stored, proto);
        return proto;
    }
    if (plan) {
        onnx::TensorProto proto = stored.header;
        if (plan->apply(stored, proto)) return proto;
    }
    // Not written out of line this time: inline the payload and drop the external-data markers.
    StoredTensor inline_copy = stored;
    inline_copy.storage = TensorStorage::kRaw;
    inline_copy.header.clear_external_data();
    inline_copy.header.clear_data_location();
    return encode_tensor_proto(inline_copy);
}

onnx::GraphProto lower_graph(const Graph& graph, const ExternalDataPlan* plan) {
    onnx::GraphProto proto = graph.header;
    for (const Node& node : graph.nodes) {
        onnx::NodeProto* node_proto = proto.add_node();
        *node_proto = node.proto;
        for (auto& attr : *node_proto->mutable_attribute()) {
            for (const auto& [name, stored] : node.tensor_attributes) {
                if (name == attr.name()) *attr.mutable_t() = lower_tensor(stored, plan);
            }
            for (const auto& [name, body] : node.subgraphs) {
                if (name == attr.name()) *attr.mutable_g() = lower_graph(*body, plan);
            }
        }
    }
    for (const StoredTensor& init : graph.initializers) *proto.add_initializer() = lower_tensor(init, plan);
    return proto;
}

onnx::ModelProto lower_model(const Model& model, const ExternalDataPlan* plan) {
    onnx::ModelProto proto = model.header;
    *proto.mutable_graph() = lower_graph(model.graph, plan);
    return proto;
}

size_t inline_tensor_bytes(const Graph& graph) {
    size_t total = 0;
    for_each_stored_tensor(graph, [&](const StoredTensor& stored) {
        if (stored.value.defined()) total += stored.value.nbytes();
    });
    return total;
}

std::string file_name_of(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Result<Model> parse_model(const std::string& bytes, const std::string& base_directory, size_t* external_bytes) {
    if (bytes.empty()) return invalid_input("the file is empty");
    if (bytes.size() > static_cast<size_t>(INT_MAX)) {
        return invalid_input("model file is over 2 GiB; ONNX models that large must keep weights in external data");
    }
    onnx::ModelProto proto;
    google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                  static_cast<int>(bytes.size()));
    stream.SetRecursionLimit(256);
    if (!proto.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage()) {
        return invalid_input("not a valid ONNX model (protobuf parse failed: the file is truncated, corrupted or not ONNX)");
    }
    PARE_RETURN_IF_ERROR(check_model_header(proto));
    LiftContext context{base_directory};
    Model model;
    PARE_ASSIGN_OR_RETURN(model.graph, lift_graph(std::move(*proto.mutable_graph()), context));
    proto.clear_graph();
    model.header = std::move(proto);
    if (context.external_bytes) model.external_data_directory = base_directory;
    if (external_bytes) *external_bytes = context.external_bytes;
    PARE_RETURN_IF_ERROR(check_model_graph(model));
    return model;
}

Result<LoadedModel> load_model(const std::string& path) {
    PARE_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
    LoadedModel loaded;
    loaded.path = path;
    loaded.base_directory = path == "-" ? "." : parent_directory(path);
    loaded.file_bytes = bytes.size();
    loaded.sha256 = sha256_hex(bytes);
    auto model = parse_model(bytes, loaded.base_directory, &loaded.external_bytes);
    if (!model.ok()) return model.status().with_context(path == "-" ? "model on stdin" : "'" + path + "'");
    loaded.model = std::move(model).value();
    return loaded;
}

onnx::ModelProto model_to_proto(const Model& model) { return lower_model(model, nullptr); }

Result<std::string> serialize_model(const Model& model) {
    if (inline_tensor_bytes(model.graph) > SaveOptions().inline_limit) {
        return invalid_input("model tensors exceed 2 GiB; it can only be saved with external data");
    }
    std::string bytes;
    if (!lower_model(model, nullptr).SerializeToString(&bytes)) return internal_error("protobuf serialization failed");
    return bytes;
}

Status save_model(const Model& model, const std::string& path, const SaveOptions& options) {
    const bool too_large = inline_tensor_bytes(model.graph) > options.inline_limit;
    const std::string directory = path == "-" ? "." : parent_directory(path);
    const std::string default_file = options.external_file.empty() ? file_name_of(path) + ".data" : options.external_file;
    const ExternalDataPlan plan(model, directory, default_file, model.external_data_directory,
                                options.external_data || too_large, options.external_threshold);
    if (!plan.empty() && path == "-") {
        return usage_error("this model needs external data files, so it cannot be written to stdout");
    }
    std::string bytes;
    if (!lower_model(model, &plan).SerializeToString(&bytes)) {
        return internal_error("protobuf serialization of the model failed");
    }
    PARE_RETURN_IF_ERROR(plan.write());
    return write_file_atomic(path, bytes);
}

}  // namespace pare

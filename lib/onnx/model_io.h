// Loading and saving whole models: protobuf <-> Model, external data, lossless round trip, atomic writes.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "core/status.h"
#include "graph/graph.h"

namespace pare {

/// A loaded model and where it came from.
struct LoadedModel {
    Model model;
    std::string path;             // as given ("-" for stdin)
    std::string base_directory;   // where external data files are looked up
    std::string sha256;           // of the model file's bytes
    size_t file_bytes = 0;        // size of the model file (external data not included)
    size_t external_bytes = 0;    // bytes read from external data files
};

/// Loads a model from a file, or from stdin when `path` is "-". Errors are kInvalidInput with one line that says
/// what is wrong (missing file, not ONNX, truncated, inconsistent tensors, bad external data).
Result<LoadedModel> load_model(const std::string& path);

/// Parses model bytes; external data paths are resolved against `base_directory`.
Result<Model> parse_model(const std::string& bytes, const std::string& base_directory, size_t* external_bytes = nullptr);

struct SaveOptions {
    /// Store every tensor of at least `external_threshold` bytes in one external data file beside the model.
    bool external_data = false;
    size_t external_threshold = 1024;
    /// External data file name (relative to the model's directory); default "<model file name>.data".
    std::string external_file;
    /// Above this many bytes of tensors, saving switches to external data by itself (protobuf cannot serialize
    /// 2 GiB; the margin leaves room for the graph structure).
    size_t inline_limit = (size_t(2) << 30) - (size_t(64) << 20);
};

/// Saves to a file (atomically) or to stdout ("-"). Tensors that were external when loaded stay external with
/// their layout when the output is in another directory; models whose tensors exceed protobuf's 2 GiB limit switch
/// to external data automatically.
Status save_model(const Model& model, const std::string& path, const SaveOptions& options = {});

/// The ModelProto of a model with every tensor inline.
onnx::ModelProto model_to_proto(const Model& model);

/// Serializes the model with every tensor inline (for hashing, shape inference and tests); fails above 2 GiB.
Result<std::string> serialize_model(const Model& model);

}  // namespace pare

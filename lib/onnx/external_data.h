// External data: tensors whose bytes live in a separate file next to the model (ONNX's external-data convention).
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"

namespace pare {

/// The location/offset/length entries of an external tensor.
struct ExternalLocation {
    std::string location;
    int64_t offset = 0;
    int64_t length = -1;  // -1: to the end of the file
};

/// Reads the external_data entries; rejects absolute paths and paths that leave the model's directory.
Result<ExternalLocation> external_location(const onnx::TensorProto& proto);

/// Reads the payload of an external tensor (storage kExternal) into `stored.value`.
Status read_external_tensor(StoredTensor& stored, const std::string& base_directory);

/// Decides where every external tensor of a model goes and writes the external files. Tensors loaded from
/// external data keep their location and offsets when that reproduces the source layout; tensors moved out of line
/// (`move_large_tensors`) go to `default_file`, appended in graph order at 64-byte aligned offsets.
class ExternalDataPlan {
public:
    /// `directory`: where the model is written. `protected_directory`: where the source model's external files
    /// live; a planned file that would overwrite one of them is renamed to `default_file`.
    ExternalDataPlan(const Model& model, const std::string& directory, const std::string& default_file,
                     const std::string& protected_directory, bool move_large_tensors, size_t threshold);

    bool empty() const { return files_.empty(); }
    /// Fills the proto's external-data fields if the tensor is planned external; returns whether it is.
    bool apply(const StoredTensor& stored, onnx::TensorProto& proto) const;
    /// Writes every planned file atomically.
    Status write() const;

private:
    struct Placement {
        const StoredTensor* stored;
        int64_t offset;
    };
    struct File {
        std::string location;
        std::vector<Placement> placements;
    };
    void place(const StoredTensor& stored, const std::string& location, int64_t original_offset);

    std::string directory_;
    std::vector<File> files_;
    std::map<const StoredTensor*, std::pair<size_t, size_t>> index_;  // tensor -> (file, placement)
};

}  // namespace pare

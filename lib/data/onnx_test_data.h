// ONNX test-data folders: test_data_set_N/input_i.pb, one serialized TensorProto per model input and set. The sets
// are concatenated along dim 0, in numeric order of N; a set's tensors are decoded only when its rows are read.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/npy.h"

namespace pare {

/// True if `path` is a test_data_set_N folder or a folder holding such folders.
bool is_onnx_test_data_folder(const std::string& path);

/// One reader per input (input_0.pb, input_1.pb...), `inputs` of them. Every set must hold every input file, and
/// one input's tensors must agree on dtype and on every dim but the first.
Result<std::vector<std::unique_ptr<ArrayReader>>> open_onnx_test_data(const std::string& path, size_t inputs);

}  // namespace pare

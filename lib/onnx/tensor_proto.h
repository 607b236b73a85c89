// TensorProto <-> Tensor. Decoding checks every size against the declared dims before allocating, so corrupt
// files fail with a clear message; encoding writes the payload back into the field it came from.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "core/status.h"
#include "graph/node.h"

namespace pare {

/// Decodes a TensorProto's header and inline payload. External payloads are not read here: the result has
/// storage kExternal and an undefined value (see external_data.h). Dtypes pare does not decode come back kOpaque.
Result<StoredTensor> decode_tensor_proto(const onnx::TensorProto& proto);

/// Decodes a tensor from a serialized TensorProto (ONNX test-data .pb files).
Result<Tensor> parse_tensor_file(const std::string& bytes, const std::string& what);

/// Builds the TensorProto for a stored tensor: header, dims and dtype from the value, payload in its storage field.
/// External tensors get only their header; the saver fills location, offset and length.
onnx::TensorProto encode_tensor_proto(const StoredTensor& stored);

/// A raw_data TensorProto named `name` (new initializers, test data).
onnx::TensorProto tensor_to_proto(const Tensor& tensor, const std::string& name);

}  // namespace pare

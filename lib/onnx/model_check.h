// Structural checks run on every load. ONNX's own checker is not used: Debian's onnx 1.12 rejects IR > 8 and
// opset > 17, which real models use. These checks make truncated or corrupted files fail with a clear message.
#pragma once

#include <onnx/onnx_pb.h>

#include "core/status.h"
#include "graph/graph.h"

namespace pare {

/// The model has a graph, an IR version and opset imports.
Status check_model_header(const onnx::ModelProto& proto);

/// Every node has an op type and a domain the model imports; every value is produced once; every read value is
/// defined (outer-scope names count inside subgraphs); every graph output is produced.
Status check_model_graph(const Model& model);

}  // namespace pare

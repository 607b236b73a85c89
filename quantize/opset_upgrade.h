// Raising a model's ai.onnx opset import so that newer weight encodings (INT4/UINT4 tensors, blocked
// DequantizeLinear, 4-bit Cast: opset 21) can be written into it without changing what any existing node means.
#pragma once

#include <cstdint>

#include "graph/graph.h"

namespace pare {

/// Raises the ai.onnx import of `model` to `target` (and its IR version to what that opset needs) when every node,
/// subgraphs included, means the same under both opsets. ONNX changes between the model's opset and `target` that
/// only widen type lists or add attributes and inputs whose defaults keep the old meaning are accepted as they are;
/// the Reduce ops' `axes` attribute (an input from opset 18) and an unsized Split's output count (an attribute from
/// 18) are moved to their new form, which is exact. Any other change (RoiAlign 16, DFT and GridSample 20,
/// GroupNormalization 21, BatchNormalization's training outputs at 14) is refused with unsupported(), naming the
/// node, and the model is then left untouched. A model already at `target` or above only gets its IR version raised
/// when it is too low for that opset.
Status raise_onnx_opset(Model& model, int64_t target);

}  // namespace pare

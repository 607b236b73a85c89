// --weight-rounding rtn|gptq of pare quantize: checks the flag against the scheme and, for gptq, collects the input
// Hessian of every layer to round from one streamed pass of the calibration data (--data).
#pragma once

#include <map>
#include <set>
#include <string>

#include "calibration/layer_hessian.h"
#include "commands.h"
#include "graph/graph.h"

namespace pare {

/// An unset --weight-rounding becomes gptq for a weight-only scheme given --data (the data has no other use there,
/// and GPTQ is what makes 4-bit log weights usable), rtn otherwise.
void resolve_default_weight_rounding(QuantizeOptions& options);

/// usage_error() unless --weight-rounding is rtn or gptq, and gptq is asked of a scheme that has it (int8, int16 and
/// the weight-only schemes) with --data (a calibration table holds no Hessians).
Status check_weight_rounding(const QuantizeOptions& options);

/// With --weight-rounding gptq, the input Hessians of the layers of `model` GPTQ rounds (quantize/gptq_weight.h),
/// none of `excluded`, from --data; empty with rtn.
Result<LayerHessians> collect_gptq_hessians(const QuantizeOptions& options, const GlobalOptions& global,
                                            const Model& model, const std::set<std::string>& excluded);

}  // namespace pare

#include "weight_rounding.h"

#include "common.h"
#include "quantize/gptq_weight.h"

namespace pare {

void resolve_default_weight_rounding(QuantizeOptions& options) {
    if (!options.weight_rounding.empty()) return;
    options.weight_rounding = is_weight_only_scheme(options.scheme) && !options.data.empty() ? "gptq" : "rtn";
}

Status check_weight_rounding(const QuantizeOptions& options) {
    if (options.weight_rounding == "rtn") return Status();
    if (options.weight_rounding != "gptq") {
        return usage_error("--weight-rounding must be rtn or gptq (got '" + options.weight_rounding + "')");
    }
    if (options.scheme != "int8" && options.scheme != "int16" && !is_weight_only_scheme(options.scheme)) {
        return usage_error(
            "--weight-rounding gptq applies to --scheme int8, int16, int4, log, codebook, binary and "
            "ternary, not " +
            options.scheme);
    }
    if (options.data.empty()) {
        return usage_error("--weight-rounding gptq needs --data: it rounds with each layer's input Hessian");
    }
    return Status();
}

Result<LayerHessians> collect_gptq_hessians(const QuantizeOptions& options, const GlobalOptions& global,
                                            const Model& model, const std::set<std::string>& excluded) {
    if (options.weight_rounding != "gptq") return LayerHessians();
    PARE_ASSIGN_OR_RETURN(SessionOptions session, session_options(global));
    PARE_ASSIGN_OR_RETURN(Dataset dataset, open_dataset(options.data, model.graph.input_names(), options.data_options,
                                                        options.samples, global));
    auto hessians = collect_layer_hessians(model, gptq_layers(model.graph, excluded), dataset, session, options.batch);
    if (!hessians.ok()) return hessians.status().with_context("collecting GPTQ's Hessians on '" + options.data + "'");
    return hessians;
}

}  // namespace pare

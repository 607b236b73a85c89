#include "calibration/calibrate.h"

#include <algorithm>
#include <map>
#include <set>

#include "calibration/monotone_map.h"
#include "core/progress.h"
#include "report/model_runner.h"

namespace pare {

std::vector<std::string> activation_names(const Graph& graph) {
    std::vector<std::string> names = graph.input_names();
    for (const Node& node : graph.nodes) {
        for (const auto& output : node.proto.output()) {
            if (!output.empty()) names.push_back(output);
        }
    }
    return names;
}

std::map<std::string, std::string> value_copies(const Graph& graph) {
    // Ops whose output holds exactly the values of their first input, only arranged differently.
    static const std::set<std::string> kSameValues = {"Reshape",   "Flatten",  "Squeeze",
                                                      "Unsqueeze", "Identity", "Transpose"};
    std::map<std::string, std::string> copies;
    for (const Node& node : graph.nodes) {
        if (!node.is_onnx_domain() || !kSameValues.count(node.op_type()) || node.proto.output_size() != 1 ||
            node.proto.input_size() == 0) {
            continue;
        }
        auto source = copies.find(node.input(0));
        copies[node.proto.output(0)] = source == copies.end() ? node.input(0) : source->second;
    }
    return copies;
}

Result<CalibrationTable> calibrate(const Model& model, Dataset& dataset, const SessionOptions& options,
                                   const CalibrateConfig& config) {
    if (config.batch <= 0) return usage_error("the calibration batch size must be positive");
    if (dataset.samples() == 0) return invalid_input("the calibration data has no samples");
    SessionOptions observing = options;
    // Copies get their source's statistics at the end instead of being scanned again (not per channel: a copy's
    // channels are not its source's).
    const std::map<std::string, std::string> copies =
        config.per_channel ? std::map<std::string, std::string>() : value_copies(model.graph);
    for (const std::string& name : activation_names(model.graph)) {
        if (!copies.count(name) || config.last_axis_channels.count(name)) observing.observed.insert(name);
    }
    // Without per-channel ranges (axis 1 or the last axis) the statistics ignore element order: channels-last values
    // need no transposing.
    observing.observe_any_layout = !config.per_channel && config.last_axis_channels.empty();
    const std::map<std::string, MonotoneMap> maps = monotone_values(model.graph);
    ModelRunner runner(model, observing, "calibration");
    PARE_RETURN_IF_ERROR(dataset.check_against(runner.input_types()));
    // The last, partial batch is padded to a full one (so memory peaks with the first batch and one session serves
    // the run); observers then pass only the real rows on.
    const int64_t step = runner.fixed_batch() > 0 ? runner.fixed_batch() : config.batch;
    runner.pad_batches_to(step);

    CalibrationTable table;
    table.samples = dataset.samples();
    int64_t batch_start = 0, batch_size = 0;
    Status failure;
    runner.set_observer([&](const std::string& name, const Tensor& value) {
        if (!failure.ok() || !dtype_is_float(value.dtype())) return;
        auto it = table.tensors.find(name);
        if (it == table.tensors.end()) {
            int channel_axis = config.per_channel && value.rank() >= 2 ? 1 : -1;
            if (config.last_axis_channels.count(name) && value.rank() >= 1) channel_axis = value.rank() - 1;
            it = table.tensors.emplace(name, TensorStats(name, channel_axis, dataset.samples())).first;
        }
        Tensor rows = value;
        if (value.rank() > 0 && value.dim(0) == step && batch_size < step) {
            Shape shape = value.shape();
            shape[0] = batch_size;
            rows = Tensor(value.dtype(), shape, value.buffer(), value.offset());
        }
        // The extremes of a Relu, a Clip or an arithmetic with a constant follow from its input's, when that was
        // observed in this batch.
        const auto map = maps.find(name);
        const auto input = map == maps.end() ? table.tensors.end() : table.tensors.find(map->second.input);
        failure = input == table.tensors.end()
                      ? it->second.add(rows, batch_start, batch_size)
                      : it->second.add_mapped(rows, batch_start, batch_size, input->second, map->second);
    });

    Progress progress("calibrate", dataset.samples());
    for (batch_start = 0; batch_start < dataset.samples(); batch_start += batch_size) {
        batch_size = std::min(step, dataset.samples() - batch_start);
        PARE_ASSIGN_OR_RETURN(std::vector<Tensor> batch, dataset.read(batch_start, batch_size));
        PARE_RETURN_IF_ERROR(runner.run(batch).status());
        PARE_RETURN_IF_ERROR(failure);
        progress.advance(batch_size);
    }
    for (const auto& [copy, source] : copies) {
        auto found = table.tensors.find(source);
        // emplace keeps the statistics of a copy that was observed itself (last-axis channels).
        if (found != table.tensors.end()) table.tensors.emplace(copy, found->second.renamed(copy));
    }
    return table;
}

}  // namespace pare

#include "backend_test_util.h"

#include "ops/cpu/dnnl_kernel.h"

namespace pare_test {

using namespace pare;

namespace {

const Graph& empty_graph() {
    static const Graph graph;
    return graph;
}

}  // namespace

KernelRun run_kernel(const KernelEntry& entry, const Node& node, int64_t opset, const std::vector<Tensor>& inputs,
                     const std::vector<bool>& constant) {
    KernelRun result;
    const KernelContext context{node, opset, empty_graph(), {}, {}, 1};
    auto kernel = entry.create(context);
    if (!kernel.ok()) {
        result.status = kernel.status();
        return result;
    }
    std::vector<InputInfo> infos;
    for (size_t i = 0; i < inputs.size(); ++i) {
        InputInfo info;
        info.present = inputs[i].defined();
        info.dtype = inputs[i].dtype();
        info.shape = inputs[i].shape();
        if (info.present && i < constant.size() && constant[i]) info.value = inputs[i];
        infos.push_back(info);
    }
    std::vector<OutputInfo> types;
    result.status = (*kernel)->prepare(infos, types);
    if (!result.status.ok()) return result;
    for (const auto& type : types) result.outputs.emplace_back(type.dtype, type.shape);
    result.status = (*kernel)->run(inputs, result.outputs);
    if (const auto* dnnl = dynamic_cast<const DnnlKernel*>(kernel->get())) result.native = !dnnl->uses_fallback();
    return result;
}

const KernelEntry* fast_entry(const Node& node, int64_t opset, Backend backend) {
    for (const KernelEntry* entry : KernelRegistry::instance().candidates(node.domain(), node.op_type(), backend)) {
        if (entry->rank >= kReferenceRank) continue;
        const KernelContext context{node, opset, empty_graph(), {}, {}, 1};
        if (entry->create(context).ok()) return entry;
    }
    return nullptr;
}

}  // namespace pare_test

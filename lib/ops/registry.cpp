#include "ops/registry.h"

#include <algorithm>

#include "ops/register_kernels.h"

namespace pare {

namespace {

bool same_domain(const std::string& a, const std::string& b) {
    auto normalize = [](const std::string& d) { return d == "ai.onnx" ? std::string() : d; };
    return normalize(a) == normalize(b);
}

}  // namespace

const KernelRegistry& KernelRegistry::instance() {
    static const KernelRegistry registry = [] {
        KernelRegistry r;
        register_all_kernels(r);
        return r;
    }();
    return registry;
}

void KernelRegistry::add(KernelEntry entry) { entries_.push_back(std::move(entry)); }

void KernelRegistry::add_reference(const std::string& op_type, KernelFactory create) {
    add(KernelEntry{"", op_type, "reference", Backend::kCpu, kReferenceRank, std::move(create)});
}

std::vector<const KernelEntry*> KernelRegistry::candidates(const std::string& domain, const std::string& op_type,
                                                           Backend backend) const {
    std::vector<const KernelEntry*> result;
    for (const auto& entry : entries_) {
        if (entry.op_type != op_type || !same_domain(entry.domain, domain)) continue;
        if (entry.backend == backend || entry.backend == Backend::kCpu) result.push_back(&entry);
    }
    // Device kernels first, then CPU kernels by rank; stable so registration order breaks ties.
    std::stable_sort(result.begin(), result.end(), [&](const KernelEntry* a, const KernelEntry* b) {
        const bool a_native = a->backend == backend, b_native = b->backend == backend;
        if (a_native != b_native) return a_native;
        return a->rank < b->rank;
    });
    return result;
}

bool KernelRegistry::knows(const std::string& domain, const std::string& op_type) const {
    return std::any_of(entries_.begin(), entries_.end(), [&](const KernelEntry& entry) {
        return entry.op_type == op_type && same_domain(entry.domain, domain);
    });
}

const KernelEntry* KernelRegistry::reference(const std::string& domain, const std::string& op_type) const {
    for (const auto& entry : entries_) {
        if (entry.op_type == op_type && same_domain(entry.domain, domain) && entry.rank == kReferenceRank) {
            return &entry;
        }
    }
    return nullptr;
}

Result<KernelChoice> choose_kernel(const KernelContext& context, Backend backend, bool reference_only) {
    const Node& node = context.node;
    const KernelRegistry& registry = KernelRegistry::instance();
    std::vector<const KernelEntry*> candidates;
    if (reference_only) {
        if (const KernelEntry* entry = registry.reference(node.domain(), node.op_type())) candidates.push_back(entry);
    } else {
        candidates = registry.candidates(node.domain(), node.op_type(), backend);
    }
    if (candidates.empty()) {
        const std::string op = node.is_onnx_domain() ? node.op_type() : node.domain() + "." + node.op_type();
        return unsupported(node.describe() + ": op " + op + " is not supported");
    }
    KernelChoice choice;
    for (const KernelEntry* entry : candidates) {
        auto kernel = entry->create(context);
        if (kernel.ok()) {
            choice.kernel = std::move(kernel).value();
            choice.implementation = entry->implementation;
            return choice;
        }
        // An input error is the node's fault, not the implementation's: no point trying others.
        if (kernel.status().code() == ErrorCode::kInvalidInput) return kernel.status();
        choice.declined.push_back(entry->implementation + ": " + kernel.status().message());
    }
    std::string reasons;
    for (const auto& reason : choice.declined) reasons += (reasons.empty() ? "" : "; ") + reason;
    return unsupported(node.describe() + ": no kernel accepts it: " + reasons);
}

}  // namespace pare

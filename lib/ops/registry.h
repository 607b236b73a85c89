// The closed list of ops pare runs, and for each op an ordered list of kernel implementations per backend:
// the fastest first, the reference kernel last. The first implementation that accepts a node wins; the reasons
// the others declined are kept for --verbose.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ops/kernel.h"

namespace pare {

enum class Backend { kCpu, kCuda };

/// Builds a kernel for a node, or returns a Status that says why this implementation declines it.
using KernelFactory = std::function<Result<KernelPtr>(const KernelContext&)>;

struct KernelEntry {
    std::string domain;          // "" for ai.onnx
    std::string op_type;
    std::string implementation;  // "onednn", "reference", "cuda"...
    Backend backend = Backend::kCpu;
    int rank = 0;                // lower runs first; the reference kernel has kReferenceRank
    KernelFactory create;
};

constexpr int kReferenceRank = 100;

class KernelRegistry {
public:
    /// The registry with every kernel pare has.
    static const KernelRegistry& instance();

    void add(KernelEntry entry);
    /// Shorthand for a reference kernel of an ai.onnx op.
    void add_reference(const std::string& op_type, KernelFactory create);

    /// Implementations for an op on a backend, best first. CUDA falls back to CPU entries after its own.
    std::vector<const KernelEntry*> candidates(const std::string& domain, const std::string& op_type,
                                               Backend backend) const;
    /// True if some implementation exists (it may still decline a particular node).
    bool knows(const std::string& domain, const std::string& op_type) const;
    /// Only the reference implementation of an op (the oracle in tests), or nullptr.
    const KernelEntry* reference(const std::string& domain, const std::string& op_type) const;

private:
    std::vector<KernelEntry> entries_;
};

/// Result of choosing a kernel for a node: the kernel, its implementation name, and why better ones declined.
struct KernelChoice {
    KernelPtr kernel;
    std::string implementation;
    std::vector<std::string> declined;  // "onednn: grouped ConvTranspose not supported"
};

/// Tries the candidates in order. Fails with kUnsupported if the op is unknown or every candidate declines.
Result<KernelChoice> choose_kernel(const KernelContext& context, Backend backend, bool reference_only = false);

}  // namespace pare

// Base class of the oneDNN kernels. Factories see no shapes, so they accept a node when oneDNN can run its kind;
// prepare() then builds primitives for the actual shapes and dtypes, and where oneDNN cannot run that particular
// configuration (kUnsupported from prepare_dnnl) the node's reference kernel takes over, logged with --verbose.
#pragma once

#include <vector>

#include "ops/cpu/dnnl_util.h"
#include "ops/kernel.h"

namespace pare {

class DnnlKernel : public Kernel {
public:
    explicit DnnlKernel(const KernelContext& context);

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) final;
    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) final;

    /// True when the last prepare() handed the node to its reference kernel.
    bool uses_fallback() const { return static_cast<bool>(fallback_); }
    /// Why it did ("" when it did not).
    const std::string& fallback_reason() const { return fallback_reason_; }

protected:
    /// Checks inputs, computes outputs and builds the primitives. kUnsupported: let the reference kernel run.
    virtual Status prepare_dnnl(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) = 0;
    virtual Status run_dnnl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) = 0;

    const Node& node() const { return *node_; }
    int64_t opset() const { return opset_; }

    /// Declares the work of one run, before creating primitives. Work estimated below ~25 us on one core runs on one
    /// thread (its primitives are also created for one thread): waking a second thread costs more than it saves.
    void set_work(double flops, double bytes);

private:
    const Node* node_;
    const Graph* graph_;
    int64_t opset_;
    int threads_;
    KernelPtr fallback_;
    std::string fallback_reason_;
    bool single_thread_ = false;
};

}  // namespace pare

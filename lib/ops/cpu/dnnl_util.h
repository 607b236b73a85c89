// Shared oneDNN (v2.6 API) plumbing for the CPU kernels: the engine and stream, memory descriptors for pare's plain
// row-major tensors, reordering constant weights once, activations as post-ops, and turning oneDNN's exceptions into
// a Status.
#pragma once

#include <dnnl.hpp>

#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/fused_ops.h"

namespace pare {

/// The CPU engine every oneDNN kernel uses.
const dnnl::engine& dnnl_engine();
/// A stream on that engine, one per calling thread (sessions may run on several threads at once).
dnnl::stream& dnnl_stream();

/// oneDNN's element type for a dtype; data_type::undef when oneDNN has none.
dnnl::memory::data_type dnnl_data_type(DType dtype);
dnnl::memory::dims dnnl_dims(const Shape& shape);
/// Descriptor of a dense row-major tensor (pare's layout). A rank-0 tensor is described as one element.
dnnl::memory::desc plain_desc(const Shape& shape, DType dtype);
/// Descriptor of a dense tensor stored channels-last: `shape` is the logical N, C, spatial... shape.
dnnl::memory::desc channels_last_desc(const Shape& shape, DType dtype);

/// A memory object over a tensor's data, without copying.
dnnl::memory wrap_tensor(const Tensor& tensor, const dnnl::memory::desc& desc);

/// A constant reordered once into the layout a primitive asked for. The result owns its (oneDNN-allocated) buffer.
dnnl::memory reorder_constant(const Tensor& tensor, const dnnl::memory::desc& from, const dnnl::memory::desc& to);

/// Appends an activation as oneDNN post-ops (HardSigmoid takes two). False if oneDNN has no equivalent.
bool append_activation(dnnl::post_ops& ops, const Activation& activation);

/// Runs `body`, turning a oneDNN exception into `code` with the node description and oneDNN's message.
template <class F>
Status dnnl_call(const Node& node, ErrorCode code, F&& body) {
    try {
        body();
    } catch (const dnnl::error& e) {
        return Status(code, node.describe() + ": oneDNN: " + e.what());  // described only then: it builds a string
    }
    return Status();
}

/// A primitive with its execution arguments. Memories for pare tensors are created once and re-pointed at the
/// tensors' data on every run; constant arguments (reordered weights) stay bound.
class DnnlStep {
public:
    DnnlStep() = default;
    DnnlStep(dnnl::primitive primitive, std::unordered_map<int, dnnl::memory> args)
        : primitive_(std::move(primitive)), args_(std::move(args)) {}

    /// A primitive with one source and one destination (eltwise, pooling, softmax...), bound to these layouts.
    static DnnlStep src_to_dst(dnnl::primitive primitive, const dnnl::memory::desc& src, const dnnl::memory::desc& dst);

    bool defined() const { return static_cast<bool>(primitive_); }
    /// Runs a src_to_dst step on new data.
    void run_src_to_dst(const void* src, void* dst);
    /// Binds argument `arg` to `memory` (kept across runs).
    void bind(int arg, dnnl::memory memory) { args_[arg] = std::move(memory); }
    /// Points argument `arg` (already bound) at new data.
    void set_data(int arg, const void* data) { args_.at(arg).set_data_handle(const_cast<void*>(data)); }
    void execute();

private:
    dnnl::primitive primitive_;
    std::unordered_map<int, dnnl::memory> args_;
};

/// A reorder from one layout of a tensor to another, reusable across runs (activation layout changes).
class DnnlReorder {
public:
    DnnlReorder() = default;
    DnnlReorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to);
    bool defined() const { return step_.defined(); }
    void run(const void* src, void* dst);

private:
    DnnlStep step_;
};

/// One argument of a primitive backed by a pare tensor whose layout may differ from the primitive's: bound straight
/// to the tensor when the layouts agree, else to a buffer in the primitive's layout, reordered to or from the tensor
/// around each run.
class DnnlArg {
public:
    /// `user` is the tensor's layout, `primitive` the layout the primitive asked for.
    void bind(DnnlStep& step, int arg, const dnnl::memory::desc& user, const dnnl::memory::desc& primitive, bool input);
    /// Before execute: reorders an input into the buffer, or points the argument at the tensor.
    void set(DnnlStep& step, const void* data);
    /// After execute: reorders an output from the buffer into the tensor.
    void finish(void* data);

private:
    int arg_ = 0;
    bool input_ = true;
    DnnlReorder reorder_;
    dnnl::memory buffer_;
};

}  // namespace pare

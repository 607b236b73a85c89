// ScatterND, ScatterElements (and its older name Scatter): the output is a copy of data with the updates written at
// the indexed places, or combined with what is there (reduction add / mul / max / min).
// Updates apply in index order, so with duplicate indices and no reduction the last one wins.
#include <cstring>
#include <type_traits>

#include "ops/index_util.h"
#include "ops/kernel_util.h"
#include "ops/ref/dtype_dispatch.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

// One reduction step in the compute type: integer add/mul wrap, max/min propagate NaN like ONNX's (numpy)
// reference, and on bool add/max are "or", mul/min "and".
template <class C>
C reduce(Reduction reduction, C x, C y) {
    if constexpr (std::is_same_v<C, bool>) {
        return reduction == Reduction::kAdd || reduction == Reduction::kMax ? (x || y) : (x && y);
    } else {
        switch (reduction) {
            case Reduction::kAdd: return wrapping_add(x, y);
            case Reduction::kMul: return wrapping_mul(x, y);
            case Reduction::kMax: return max_propagating_nan(x, y);
            default: return min_propagating_nan(x, y);
        }
    }
}

// Combines one update into one output element of storage type T (f16/bf16 computed in float).
template <class T>
void combine(Reduction reduction, char* dst, const char* update) {
    T a, b;
    std::memcpy(&a, dst, sizeof(T));
    std::memcpy(&b, update, sizeof(T));
    a = store<T>(reduce(reduction, load(a), load(b)));
    std::memcpy(dst, &a, sizeof(T));
}

using CombineFn = void (*)(Reduction, char*, const char*);

class ScatterKernel : public Kernel {
public:
    explicit ScatterKernel(const KernelContext& context) : node_(context.node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 3, 3));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 1, {DType::kI64, DType::kI32}));
        PARE_ASSIGN_OR_RETURN(element_bytes_, movable_element_bytes(inputs[0].dtype, node_));
        const std::string reduction = node_.attr_string("reduction", "none");
        if (reduction == "none") reduction_ = Reduction::kNone;
        else if (reduction == "add") reduction_ = Reduction::kAdd;
        else if (reduction == "mul") reduction_ = Reduction::kMul;
        else if (reduction == "max") reduction_ = Reduction::kMax;
        else if (reduction == "min") reduction_ = Reduction::kMin;
        else return invalid_input(node_.describe() + ": unknown reduction " + reduction);
        if (reduction_ != Reduction::kNone) {
            const Status typed = dispatch_dtype<DTypeSet::kAll>(inputs[0].dtype, [this](auto tag) {
                combine_ = &combine<typename decltype(tag)::type>;
            });
            if (!typed.ok()) return unsupported(node_.describe() + ": reduction on " + dtype_name(inputs[0].dtype));
        }
        if (inputs[2].dtype != inputs[0].dtype || inputs[0].shape.empty() || !shapes_fit(inputs)) {
            return invalid_input(node_.describe() + ": data " + dtype_name(inputs[0].dtype) + " " +
                                 shape_to_string(inputs[0].shape) + ", indices " + shape_to_string(inputs[1].shape) +
                                 " and updates " + dtype_name(inputs[2].dtype) + " " +
                                 shape_to_string(inputs[2].shape) + " do not fit together");
        }
        outputs = {OutputInfo{inputs[0].dtype, inputs[0].shape}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        std::memcpy(outputs[0].raw(), inputs[0].raw(), inputs[0].numel() * element_bytes_);
        return scatter(inputs, outputs[0]);
    }

protected:
    virtual bool shapes_fit(const std::vector<InputInfo>& inputs) const = 0;
    virtual Status scatter(const std::vector<Tensor>& inputs, Tensor& dst) const = 0;

    void apply(Tensor& dst, int64_t dst_index, const Tensor& updates, int64_t update_index) const {
        char* to = static_cast<char*>(dst.raw()) + dst_index * element_bytes_;
        const char* from = static_cast<const char*>(updates.raw()) + update_index * element_bytes_;
        if (reduction_ == Reduction::kNone) std::memcpy(to, from, element_bytes_);
        else combine_(reduction_, to, from);
    }

    const Node& node_;
    size_t element_bytes_ = 0;
    Reduction reduction_ = Reduction::kNone;
    CombineFn combine_ = nullptr;
};

// ScatterND: each row of the last indices dimension (k values) addresses a slice data[i_0, ..., i_k-1, ...];
// updates has shape indices.shape[:-1] + data.shape[k:].
class ScatterNDKernel : public ScatterKernel {
public:
    using ScatterKernel::ScatterKernel;

protected:
    bool shapes_fit(const std::vector<InputInfo>& inputs) const override {
        const Shape& data = inputs[0].shape;
        const Shape& indices = inputs[1].shape;
        if (indices.empty() || indices.back() < 1 || indices.back() > static_cast<int64_t>(data.size())) return false;
        Shape expected(indices.begin(), indices.end() - 1);
        expected.insert(expected.end(), data.begin() + indices.back(), data.end());
        return expected == inputs[2].shape;
    }

    Status scatter(const std::vector<Tensor>& inputs, Tensor& dst) const override {
        const Shape& shape = dst.shape();
        const Tensor& updates = inputs[2];
        const std::vector<int64_t> indices = tensor_to_int64s(inputs[1]);
        const int64_t depth = inputs[1].shape().back();
        const std::vector<int64_t> strides = shape_strides(shape);
        const AxisSplit addressed = split_at_axis(shape, depth);  // the slice starts after the last address
        const int64_t slice = addressed.len * addressed.inner;
        for (int64_t t = 0; t * depth < static_cast<int64_t>(indices.size()); ++t) {
            int64_t offset = 0;
            for (int64_t j = 0; j < depth; ++j) {
                PARE_ASSIGN_OR_RETURN(const int64_t index, wrap_index(indices[t * depth + j], shape[j], node_));
                offset += index * strides[j];
            }
            for (int64_t e = 0; e < slice; ++e) apply(dst, offset + e, updates, t * slice + e);
        }
        return Status();
    }
};

// ScatterElements: updates[i] goes to data[i with coordinate `axis` replaced by indices[i]].
class ScatterElementsKernel : public ScatterKernel {
public:
    using ScatterKernel::ScatterKernel;

protected:
    bool shapes_fit(const std::vector<InputInfo>& inputs) const override {
        const Shape& data = inputs[0].shape;
        const Shape& indices = inputs[1].shape;
        auto axis = normalize_axis(node_.attr_int("axis", 0), static_cast<int64_t>(data.size()), node_);
        bool fits = axis.ok() && indices == inputs[2].shape && indices.size() == data.size();
        for (size_t a = 0; fits && a < data.size(); ++a) {
            fits = static_cast<int64_t>(a) == *axis || indices[a] <= data[a];
        }
        return fits;
    }

    Status scatter(const std::vector<Tensor>& inputs, Tensor& dst) const override {
        const int64_t rank = dst.rank();
        const int64_t axis = *normalize_axis(node_.attr_int("axis", 0), rank, node_);
        const std::vector<int64_t> indices = tensor_to_int64s(inputs[1]);
        const std::vector<int64_t> strides = shape_strides(dst.shape());
        NdCounter counter(inputs[1].shape());
        for (size_t i = 0; i < indices.size(); ++i, counter.next()) {
            PARE_ASSIGN_OR_RETURN(const int64_t index, wrap_index(indices[i], dst.dim(axis), node_));
            int64_t offset = 0;
            for (int64_t a = 0; a < rank; ++a) offset += (a == axis ? index : counter.index()[a]) * strides[a];
            apply(dst, offset, inputs[2], static_cast<int64_t>(i));
        }
        return Status();
    }
};

}  // namespace

void register_scatter_kernels(KernelRegistry& registry) {
    registry.add_reference("ScatterND", kernel_factory<ScatterNDKernel>());
    registry.add_reference("ScatterElements", kernel_factory<ScatterElementsKernel>());
    registry.add_reference("Scatter", kernel_factory<ScatterElementsKernel>());
}

}  // namespace pare

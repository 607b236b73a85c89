// Gather, GatherElements and GatherND: copies of data elements (or blocks) chosen by int32/int64 indices, negative
// indices counting from the end. An index out of range fails the run with kInvalidInput naming the node.
#include <cstring>

#include "ops/index_util.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

// Shared checks: data and int32/int64 indices; remembers the element size.
class IndexedKernel : public Kernel {
public:
    explicit IndexedKernel(const KernelContext& context) : node_(context.node) {}

protected:
    Status check_data_and_indices(const std::vector<InputInfo>& inputs) {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 2, 2));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 1, {DType::kI64, DType::kI32}));
        PARE_ASSIGN_OR_RETURN(element_bytes_, movable_element_bytes(inputs[0].dtype, node_));
        if (inputs[0].shape.empty()) return invalid_input(node_.describe() + " needs data of rank >= 1");
        return Status();
    }
    Status shape_error(const std::vector<InputInfo>& inputs, const std::string& why) const {
        return invalid_input(node_.describe() + ": data " + shape_to_string(inputs[0].shape) + " and indices " +
                             shape_to_string(inputs[1].shape) + " " + why);
    }

    const Node& node_;
    size_t element_bytes_ = 0;
};

// Gather: output = data[:axis] + indices.shape + data[axis+1:].
class GatherKernel : public IndexedKernel {
public:
    using IndexedKernel::IndexedKernel;

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_data_and_indices(inputs));
        const Shape& data = inputs[0].shape;
        PARE_ASSIGN_OR_RETURN(axis_,
                              normalize_axis(node_.attr_int("axis", 0), static_cast<int64_t>(data.size()), node_));
        Shape out(data.begin(), data.begin() + axis_);
        out.insert(out.end(), inputs[1].shape.begin(), inputs[1].shape.end());
        out.insert(out.end(), data.begin() + axis_ + 1, data.end());
        outputs = {OutputInfo{inputs[0].dtype, out}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& data = inputs[0];
        const std::vector<int64_t> indices = tensor_to_int64s(inputs[1]);
        const AxisSplit split = split_at_axis(data.shape(), axis_);
        const int64_t dim = split.len, outer = split.outer;
        const size_t block = static_cast<size_t>(split.inner) * element_bytes_;
        const char* src = static_cast<const char*>(data.raw());
        char* dst = static_cast<char*>(outputs[0].raw());
        for (int64_t index : indices) PARE_RETURN_IF_ERROR(wrap_index(index, dim, node_).status());
        for (int64_t o = 0; o < outer; ++o) {
            for (int64_t index : indices) {
                std::memcpy(dst, src + (o * dim + (index < 0 ? index + dim : index)) * block, block);
                dst += block;
            }
        }
        return Status();
    }

private:
    int64_t axis_ = 0;
};

// GatherElements: output[i] = data[i with coordinate `axis` replaced by indices[i]]; output shape = indices shape.
class GatherElementsKernel : public IndexedKernel {
public:
    using IndexedKernel::IndexedKernel;

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_data_and_indices(inputs));
        const Shape& data = inputs[0].shape;
        const Shape& indices = inputs[1].shape;
        PARE_ASSIGN_OR_RETURN(axis_,
                              normalize_axis(node_.attr_int("axis", 0), static_cast<int64_t>(data.size()), node_));
        bool fits = indices.size() == data.size();
        for (size_t a = 0; fits && a < data.size(); ++a) {
            fits = static_cast<int64_t>(a) == axis_ || indices[a] <= data[a];
        }
        if (!fits) return shape_error(inputs, "do not match");
        outputs = {OutputInfo{inputs[0].dtype, indices}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& data = inputs[0];
        const std::vector<int64_t> indices = tensor_to_int64s(inputs[1]);
        const std::vector<int64_t> strides = shape_strides(data.shape());
        const char* src = static_cast<const char*>(data.raw());
        char* dst = static_cast<char*>(outputs[0].raw());
        NdCounter counter(inputs[1].shape());
        for (size_t i = 0; i < indices.size(); ++i, counter.next()) {
            PARE_ASSIGN_OR_RETURN(const int64_t index, wrap_index(indices[i], data.dim(axis_), node_));
            int64_t offset = 0;
            for (size_t a = 0; a < strides.size(); ++a) {
                offset += (static_cast<int64_t>(a) == axis_ ? index : counter.index()[a]) * strides[a];
            }
            std::memcpy(dst + i * element_bytes_, src + offset * element_bytes_, element_bytes_);
        }
        return Status();
    }

private:
    int64_t axis_ = 0;
};

// GatherND: the last indices dimension (k) addresses data[b : b+k] within each of the first b (batch_dims)
// dimensions; output = indices.shape[:-1] + data.shape[b+k:].
class GatherNDKernel : public IndexedKernel {
public:
    using IndexedKernel::IndexedKernel;

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_data_and_indices(inputs));
        const Shape& data = inputs[0].shape;
        const Shape& indices = inputs[1].shape;
        batch_ = node_.attr_int("batch_dims", 0);
        const int64_t rank = static_cast<int64_t>(data.size()), q = static_cast<int64_t>(indices.size());
        if (q < 1 || batch_ < 0 || batch_ >= std::min(rank, q)) return shape_error(inputs, "do not fit batch_dims");
        depth_ = indices.back();
        bool fits = depth_ >= 1 && depth_ <= rank - batch_;
        for (int64_t a = 0; fits && a < batch_; ++a) fits = data[a] == indices[a];
        if (!fits) return shape_error(inputs, "do not match with batch_dims " + std::to_string(batch_));
        Shape out(indices.begin(), indices.end() - 1);
        out.insert(out.end(), data.begin() + batch_ + depth_, data.end());
        outputs = {OutputInfo{inputs[0].dtype, out}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& data = inputs[0];
        const Shape& shape = data.shape();
        const std::vector<int64_t> indices = tensor_to_int64s(inputs[1]);
        const std::vector<int64_t> strides = shape_strides(shape);
        const AxisSplit batch = split_at_axis(shape, batch_);
        const int64_t batches = batch.outer, batch_stride = batch.len * batch.inner;
        const int64_t tuples = static_cast<int64_t>(indices.size()) / depth_;
        const int64_t tuples_per_batch = batches ? tuples / batches : 0;
        const AxisSplit addressed = split_at_axis(shape, batch_ + depth_);  // the slice starts after the last address
        const size_t slice = static_cast<size_t>(addressed.len * addressed.inner) * element_bytes_;
        const char* src = static_cast<const char*>(data.raw());
        char* dst = static_cast<char*>(outputs[0].raw());
        for (int64_t t = 0; t < tuples; ++t) {
            int64_t offset = (t / tuples_per_batch) * batch_stride;
            for (int64_t j = 0; j < depth_; ++j) {
                PARE_ASSIGN_OR_RETURN(const int64_t index,
                                      wrap_index(indices[t * depth_ + j], shape[batch_ + j], node_));
                offset += index * strides[batch_ + j];
            }
            std::memcpy(dst + t * slice, src + offset * element_bytes_, slice);
        }
        return Status();
    }

private:
    int64_t batch_ = 0, depth_ = 0;
};

}  // namespace

void register_gather_kernels(KernelRegistry& registry) {
    registry.add_reference("Gather", kernel_factory<GatherKernel>());
    registry.add_reference("GatherElements", kernel_factory<GatherElementsKernel>());
    registry.add_reference("GatherND", kernel_factory<GatherNDKernel>());
}

}  // namespace pare

// Transpose as a oneDNN reorder between a row-major source and a destination described with permuted strides. The
// reorder only moves bits: elements are described by their size (1, 2 or 4 bytes as u8, bf16, s32; 8-byte elements
// as pairs of s32 along an extra innermost axis), so every dtype except packed 4-bit is exact.
#include "ops/cpu/dnnl_kernel.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

using dt = dnnl::memory::data_type;

class DnnlTranspose : public DnnlKernel {
public:
    using DnnlKernel::DnnlKernel;

protected:
    Status prepare_dnnl(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const Node& n = node();
        PARE_RETURN_IF_ERROR(check_input_count(n, inputs, 1, 1));
        const Shape& x = inputs[0].shape;
        const int64_t rank = static_cast<int64_t>(x.size());
        std::vector<int64_t> perm = n.attr_ints("perm");
        if (perm.empty()) {
            for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
        }
        std::vector<bool> seen(rank, false);
        if (static_cast<int64_t>(perm.size()) != rank) return invalid_input(n.describe() + ": perm does not match the input rank");
        for (int64_t& p : perm) {
            if (p < -rank || p >= rank) return invalid_input(n.describe() + ": perm value out of range");
            if (p < 0) p += rank;
            if (seen[p]) return invalid_input(n.describe() + ": perm repeats an axis");
            seen[p] = true;
        }
        Shape y;
        for (int64_t p : perm) y.push_back(x[p]);
        outputs = {OutputInfo{inputs[0].dtype, y}};

        const int bits = dtype_bits(inputs[0].dtype);
        if (bits < 8 || rank > 10) return unsupported("4-bit elements or rank above 10");
        if (shape_numel(x) == 0) return unsupported("an empty tensor");
        const dt type = bits == 8 ? dt::u8 : bits == 16 ? dt::bf16 : dt::s32;
        Shape src_dims = x;
        const std::vector<int64_t> y_strides = shape_strides(y.empty() ? Shape{1} : y);
        dnnl::memory::dims dst_strides(rank);
        for (int64_t j = 0; j < rank; ++j) dst_strides[perm[j]] = y_strides[j];
        if (bits == 64) {
            src_dims.push_back(2);
            for (auto& stride : dst_strides) stride *= 2;
            dst_strides.push_back(1);
        }
        if (src_dims.empty()) {  // a scalar
            src_dims = {1};
            dst_strides = {1};
        }
        const std::vector<int64_t> src_strides = shape_strides(src_dims);
        const dnnl::memory::desc from(dnnl_dims(src_dims), type, dnnl::memory::dims(src_strides.begin(), src_strides.end()));
        const dnnl::memory::desc to(dnnl_dims(src_dims), type, dst_strides);
        set_work(0.0, 2.0 * static_cast<double>(dtype_storage_bytes(inputs[0].dtype, shape_numel(x))));
        reorder_ = DnnlReorder(from, to);
        return Status();
    }

    Status run_dnnl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        reorder_.run(inputs[0].raw(), outputs[0].raw());
        return Status();
    }

private:
    DnnlReorder reorder_;
};

}  // namespace

void register_onednn_transpose_kernels(KernelRegistry& registry) {
    registry.add(KernelEntry{"", "Transpose", "onednn", Backend::kCpu, 10,
                             [](const KernelContext& context) -> Result<KernelPtr> {
                                 return KernelPtr(new DnnlTranspose(context));
                             }});
}

}  // namespace pare

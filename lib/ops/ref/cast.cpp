// Cast and CastLike between every numeric dtype and bool. String and float8 dtypes have no Tensor representation.
#include "ops/ref/cast.h"

#include <cstring>

#include "ops/kernel_util.h"
#include "ops/ref/dtype_dispatch.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

bool castable_dtype(DType dtype) { return dtype_in_set(dtype, DTypeSet::kAll); }

Status cast_into(const Tensor& src, Tensor& dst) {
    if (src.numel() != dst.numel()) return internal_error("cast_into: element counts differ");
    if (src.dtype() == dst.dtype()) {
        if (src.nbytes()) std::memcpy(dst.raw(), src.raw(), src.nbytes());
        return Status();
    }
    if (src.dtype() == DType::kI4 || src.dtype() == DType::kU4) {
        // Packed 4-bit sources (opset 21) widen exactly to int8 first.
        return cast_into(src.cast(DType::kI8), dst);
    }
    Status inner;
    const Status outer = dispatch_dtype<DTypeSet::kAll>(src.dtype(), [&](auto src_tag) {
        using S = typename decltype(src_tag)::type;
        inner = dispatch_dtype<DTypeSet::kAll>(dst.dtype(), [&](auto dst_tag) {
            using D = typename decltype(dst_tag)::type;
            const S* s = src.data<S>();
            D* d = dst.data<D>();
            const int64_t n = src.numel();
#pragma omp parallel for if (n > 65536)
            for (int64_t i = 0; i < n; ++i) d[i] = store<D>(load(s[i]));
        });
    });
    return outer.ok() ? inner : outer;
}

Result<Tensor> cast_tensor(const Tensor& src, DType dtype) {
    PARE_ASSIGN_OR_RETURN(Tensor dst, Tensor::make(dtype, src.shape()));
    PARE_RETURN_IF_ERROR(cast_into(src, dst));
    return dst;
}

namespace {

// Cast (target from the `to` attribute) and CastLike (target is input 1's dtype).
class CastKernel : public Kernel {
public:
    CastKernel(const Node& node, bool like) : node_(node), like_(like) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, like_ ? 2 : 1, like_ ? 2 : 1));
        DType to = DType::kUndefined;
        if (like_) {
            to = inputs[1].dtype;
        } else {
            const int64_t code = node_.attr_int("to", -1);
            if (code < 0) return invalid_input(node_.describe() + " has no integer 'to' attribute");
            to = dtype_from_onnx(static_cast<int32_t>(code));
            if (to == DType::kUndefined) {
                return unsupported(node_.describe() + ": cast to ONNX type " + std::to_string(code) +
                                   " (string, complex and float8 types are not supported)");
            }
        }
        const bool four_bit_source = inputs[0].dtype == DType::kI4 || inputs[0].dtype == DType::kU4;
        for (DType dtype : {inputs[0].dtype, to}) {
            if (!castable_dtype(dtype) && !(four_bit_source && dtype == inputs[0].dtype)) {
                return unsupported(node_.describe() + ": cast involving " + dtype_name(dtype) + " is not supported");
            }
        }
        outputs = {OutputInfo{to, inputs[0].shape}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        return cast_into(inputs[0], outputs[0]);
    }

private:
    const Node& node_;
    bool like_;
};

}  // namespace

void register_cast_kernels(KernelRegistry& registry) {
    registry.add_reference("Cast", [](const KernelContext& context) -> Result<KernelPtr> {
        return KernelPtr(new CastKernel(context.node, false));
    });
    registry.add_reference("CastLike", [](const KernelContext& context) -> Result<KernelPtr> {
        return KernelPtr(new CastKernel(context.node, true));
    });
}

}  // namespace pare

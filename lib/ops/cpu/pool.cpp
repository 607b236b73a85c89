// oneDNN pooling for MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool, channels-first or (private ops)
// channels-last. float32, and int8/uint8 for the max pools.
#include "graph/fused_ops.h"
#include "ops/cpu/dnnl_kernel.h"
#include "ops/cpu/dnnl_window.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

enum class PoolKind { kMax, kAverage, kGlobalMax, kGlobalAverage };

class DnnlPool : public DnnlKernel {
public:
    DnnlPool(const KernelContext& context, PoolKind kind)
        : DnnlKernel(context), kind_(kind), channels_last_(is_channels_last(context.node)) {}

protected:
    Status prepare_dnnl(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const Node& n = node();
        PARE_RETURN_IF_ERROR(check_input_count(n, inputs, 1, 1));
        if (n.num_outputs() > 1 && !n.output(1).empty()) return unsupported("the Indices output");
        const bool is_max = kind_ == PoolKind::kMax || kind_ == PoolKind::kGlobalMax;
        const DType dtype = inputs[0].dtype;
        if (dtype != DType::kF32 && !(is_max && (dtype == DType::kU8 || dtype == DType::kI8))) {
            return unsupported("pooling on " + dtype_name(dtype));
        }
        const Shape& stored_x = inputs[0].shape;
        if (stored_x.size() < 3 || stored_x.size() > 5) return unsupported("only 1-D, 2-D and 3-D pooling");
        const Shape x = channels_last_ ? channels_first_shape(stored_x) : stored_x;
        const Shape spatial(x.begin() + 2, x.end());

        DnnlWindow window;
        if (kind_ == PoolKind::kGlobalMax || kind_ == PoolKind::kGlobalAverage) {
            const size_t rank = spatial.size();
            window.kernel.assign(spatial.begin(), spatial.end());
            window.strides.assign(rank, 1);
            window.dilations.assign(rank, 0);
            window.padding_l.assign(rank, 0);
            window.padding_r.assign(rank, 0);
            window.output.assign(rank, 1);
        } else {
            const std::vector<int64_t> kernel = n.attr_ints("kernel_shape");
            if (kernel.size() != spatial.size()) {
                return invalid_input(n.describe() + ": kernel_shape does not match the input " + shape_to_string(x));
            }
            PARE_ASSIGN_OR_RETURN(window, dnnl_forward_window(n, spatial, Shape(kernel.begin(), kernel.end())));
        }
        dnnl::algorithm algorithm = dnnl::algorithm::pooling_max;
        if (!is_max) {
            const bool include_pad = n.attr_int("count_include_pad", 0) != 0;
            // With ceil_mode, oneDNN would count the extra end padding that ONNX leaves out of the divisor.
            if (include_pad && window.padding_r_extended) return unsupported("count_include_pad with ceil_mode");
            algorithm = include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                    : dnnl::algorithm::pooling_avg_exclude_padding;
        }
        Shape y = {x[0], x[1]};
        y.insert(y.end(), window.output.begin(), window.output.end());
        outputs = {OutputInfo{dtype, channels_last_ ? channels_last_shape(y) : y}};

        set_work(static_cast<double>(shape_numel(x)) * static_cast<double>(shape_numel(Shape(window.kernel.begin(), window.kernel.end()))) /
                     static_cast<double>(shape_numel(Shape(window.strides.begin(), window.strides.end()))),
                 static_cast<double>(dtype_storage_bytes(dtype, shape_numel(x) + shape_numel(y))));
        auto desc_of = [&](const Shape& logical) {
            return channels_last_ ? channels_last_desc(logical, dtype) : plain_desc(logical, dtype);
        };
        const dnnl::memory::desc src = desc_of(x), dst = desc_of(y);
        const dnnl::pooling_v2_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, src, dst,
                                                  window.strides, window.kernel, window.dilations, window.padding_l,
                                                  window.padding_r);
        const dnnl::pooling_v2_forward::primitive_desc pd(desc, dnnl_engine());
        step_ = DnnlStep::src_to_dst(dnnl::pooling_v2_forward(pd), src, dst);
        return Status();
    }

    Status run_dnnl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        step_.run_src_to_dst(inputs[0].raw(), outputs[0].raw());
        return Status();
    }

private:
    PoolKind kind_;
    bool channels_last_;
    DnnlStep step_;
};

KernelFactory pool_factory(PoolKind kind) {
    return [kind](const KernelContext& context) -> Result<KernelPtr> {
        if (context.node.attr_int("storage_order", 0) != 0 && context.node.num_outputs() > 1) {
            return unsupported("storage_order applies to the Indices output");
        }
        return KernelPtr(new DnnlPool(context, kind));
    };
}

}  // namespace

void register_onednn_pool_kernels(KernelRegistry& registry) {
    const std::pair<const char*, PoolKind> ops[] = {{"MaxPool", PoolKind::kMax},
                                                    {"AveragePool", PoolKind::kAverage},
                                                    {"GlobalMaxPool", PoolKind::kGlobalMax},
                                                    {"GlobalAveragePool", PoolKind::kGlobalAverage}};
    for (const char* domain : {"", kPareDomain}) {
        for (const auto& [op, kind] : ops) {
            registry.add(KernelEntry{domain, op, "onednn", Backend::kCpu, 10, pool_factory(kind)});
        }
    }
}

}  // namespace pare

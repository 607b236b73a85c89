// Max, Min, Sum and Mean over any number of inputs broadcast together. Each output element folds its inputs in
// input order in the compute type and rounds once. Max and Min propagate NaN, like numpy.maximum/minimum.
#include "ops/kernel_util.h"
#include "ops/ref/broadcast.h"
#include "ops/ref/dtype_dispatch.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

enum class Fold { kMax, kMin, kSum, kMean };

template <Fold kFold, class C>
C fold(C acc, C v) {
    if constexpr (kFold == Fold::kMax) return max_propagating_nan(acc, v);
    else if constexpr (kFold == Fold::kMin) return min_propagating_nan(acc, v);
    else return wrapping_add(acc, v);
}

template <Fold kFold>
class VariadicKernel : public Kernel {
public:
    static constexpr DTypeSet kTypes =
        kFold == Fold::kMax || kFold == Fold::kMin ? DTypeSet::kNumeric : DTypeSet::kFloat;

    explicit VariadicKernel(const Node& node) : node_(node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        if (inputs.empty()) return invalid_input(node_.describe() + " has no inputs");
        const int count = static_cast<int>(inputs.size());
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, count, count));
        const DType dtype = inputs[0].dtype;
        for (const InputInfo& input : inputs) {
            if (input.dtype != dtype) {
                return invalid_input(node_.describe() + ": inputs have different dtypes " + dtype_name(dtype) +
                                     " and " + dtype_name(input.dtype));
            }
        }
        PARE_RETURN_IF_ERROR(check_dtype_in(node_, dtype, kTypes));
        PARE_ASSIGN_OR_RETURN(Shape shape, broadcast_input_shapes(node_, inputs, 0, count));
        outputs = {OutputInfo{dtype, shape}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        Tensor& dst = outputs[0];
        std::vector<Shape> shapes;
        for (const Tensor& input : inputs) shapes.push_back(input.shape());
        const BroadcastLoop loop(shapes, dst.shape());
        const int count = static_cast<int>(inputs.size());
        std::vector<int64_t> strides(count);
        for (int k = 0; k < count; ++k) strides[k] = loop.row_stride(k);
        return dispatch_dtype<kTypes>(dst.dtype(), [&](auto tag) {
            using T = typename decltype(tag)::type;
            using C = Compute<T>;
            std::vector<const T*> srcs;
            for (const Tensor& input : inputs) srcs.push_back(input.data<T>());
            T* d = dst.data<T>();
            loop.for_each_row([&](int64_t offset, const int64_t* offsets, int64_t n) {
                for (int64_t i = 0; i < n; ++i) {
                    C acc = load(srcs[0][offsets[0] + i * strides[0]]);
                    for (int k = 1; k < count; ++k) acc = fold<kFold>(acc, load(srcs[k][offsets[k] + i * strides[k]]));
                    if constexpr (kFold == Fold::kMean) acc /= static_cast<C>(count);
                    d[offset + i] = store<T>(acc);
                }
            });
        });
    }

private:
    const Node& node_;
};

template <Fold kFold>
void add_variadic(KernelRegistry& registry, const std::string& op_type) {
    registry.add_reference(op_type, [](const KernelContext& context) -> Result<KernelPtr> {
        return KernelPtr(new VariadicKernel<kFold>(context.node));
    });
}

}  // namespace

void register_variadic_kernels(KernelRegistry& registry) {
    add_variadic<Fold::kMax>(registry, "Max");
    add_variadic<Fold::kMin>(registry, "Min");
    add_variadic<Fold::kSum>(registry, "Sum");
    add_variadic<Fold::kMean>(registry, "Mean");
}

}  // namespace pare

// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSum and
// ReduceLogSumExp. Input elements are visited once, in order, on one thread, so results do not depend on the
// thread count. Accumulators are double for floating types (an oracle should not lose precision to long sums) and
// 64-bit integers for integer types, whose sums and products wrap to the output type like numpy's.
// A reduction over an empty set gives the operation's identity: 0, 1, -inf / lowest for Max, +inf / max for Min,
// NaN for the Mean of floats, -inf for LogSum and LogSumExp.
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/kernel_util.h"
#include "ops/ref/broadcast.h"
#include "ops/ref/dtype_dispatch.h"
#include "ops/ref/reduce_axes.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

enum class Reduce { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kSumSquare, kLogSum, kLogSumExp };

template <class T>
using Acc = std::conditional_t<kIsFloat<T>, double, std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;

template <Reduce kOp, class T>
Acc<T> initial() {
    using A = Acc<T>;
    if constexpr (kOp == Reduce::kProd) return A(1);
    if constexpr (kOp == Reduce::kMax || kOp == Reduce::kLogSumExp) {
        if constexpr (kIsFloat<T>) return -std::numeric_limits<A>::infinity();
        else return static_cast<A>(std::numeric_limits<T>::lowest());
    }
    if constexpr (kOp == Reduce::kMin) {
        if constexpr (kIsFloat<T>) return std::numeric_limits<A>::infinity();
        else return static_cast<A>(std::numeric_limits<T>::max());
    }
    return A(0);
}

// Folds one input element into an accumulator. (LogSumExp's first pass is a Max.)
template <Reduce kOp, class A>
A combine(A acc, A v) {
    if constexpr (kOp == Reduce::kMax || kOp == Reduce::kLogSumExp) return max_propagating_nan(acc, v);
    else if constexpr (kOp == Reduce::kMin) return min_propagating_nan(acc, v);
    else if constexpr (kOp == Reduce::kProd) return wrapping_mul(acc, v);
    else if constexpr (kOp == Reduce::kL1 && std::is_unsigned_v<A>) return wrapping_add(acc, v);
    else if constexpr (kOp == Reduce::kL1) return wrapping_add(acc, v < 0 ? wrapping_sub(A(0), v) : v);
    else if constexpr (kOp == Reduce::kL2 || kOp == Reduce::kSumSquare) return wrapping_add(acc, wrapping_mul(v, v));
    else return wrapping_add(acc, v);
}

// Calls fn(accumulator_index, input_value) for every input element, in input order.
template <class T, class Fn>
void walk(const ReducePlan& plan, const Tensor& src, Fn fn) {
    const T* s = src.data<T>();
    const BroadcastLoop loop({plan.kept_shape}, src.shape());
    const int64_t stride = loop.row_stride(0);
    loop.for_each_row(
        [&](int64_t in, const int64_t* out, int64_t n) {
            for (int64_t i = 0; i < n; ++i) fn(out[0] + i * stride, s[in + i]);
        },
        false);
}

template <Reduce kOp, class T>
void reduce(const ReducePlan& plan, const Tensor& src, Tensor& dst) {
    using A = Acc<T>;
    const int64_t outputs = dst.numel();
    if (outputs == 0) return;
    const int64_t count = src.numel() / outputs;
    std::vector<A> acc(outputs, initial<kOp, T>());
    walk<T>(plan, src, [&](int64_t o, T v) { acc[o] = combine<kOp>(acc[o], static_cast<A>(load(v))); });
    T* d = dst.data<T>();
    if constexpr (kOp == Reduce::kLogSumExp) {
        // Second pass: sum of exp(x - max), so large inputs do not overflow.
        std::vector<double> sums(outputs, 0.0);
        walk<T>(plan, src, [&](int64_t o, T v) {
            sums[o] += std::exp(static_cast<double>(load(v)) - static_cast<double>(acc[o]));
        });
        for (int64_t o = 0; o < outputs; ++o) {
            const double max = static_cast<double>(acc[o]);
            double result = -INFINITY;  // log of an empty sum
            if (count > 0) result = std::isfinite(max) ? max + std::log(sums[o]) : max;  // +-inf and NaN as they are
            d[o] = store<T>(result);
        }
    } else {
        for (int64_t o = 0; o < outputs; ++o) {
            if constexpr (kOp == Reduce::kMean) {
                if constexpr (kIsFloat<T>) d[o] = store<T>(acc[o] / static_cast<double>(count));
                else d[o] = store<T>(count ? acc[o] / static_cast<A>(count) : A(0));
            } else if constexpr (kOp == Reduce::kL2) {
                d[o] = store<T>(std::sqrt(static_cast<double>(acc[o])));
            } else if constexpr (kOp == Reduce::kLogSum) {
                d[o] = store<T>(std::log(static_cast<double>(acc[o])));
            } else {
                d[o] = store<T>(acc[o]);
            }
        }
    }
}

template <Reduce kOp>
class ReduceKernel : public Kernel {
public:
    ReduceKernel(const Node& node, int64_t opset, int64_t axes_input_opset)
        : node_(node), axes_(node, opset, axes_input_opset) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_ASSIGN_OR_RETURN(std::optional<ReducePlan> plan, axes_.plan(inputs));
        const DType dtype = inputs[0].dtype;
        PARE_RETURN_IF_ERROR(check_dtype_in(node_, dtype, DTypeSet::kNumeric));
        if (!plan) {
            outputs = {OutputInfo{dtype, {}, false}};
            return Status();
        }
        plan_ = *plan;
        outputs = {OutputInfo{dtype, plan_.out_shape}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& src = inputs[0];
        Tensor& dst = outputs[0];
        if (plan_.identity) {
            if (src.nbytes()) std::memcpy(dst.raw(), src.raw(), src.nbytes());
            return Status();
        }
        return dispatch_dtype<DTypeSet::kNumeric>(src.dtype(), [&](auto tag) {
            reduce<kOp, typename decltype(tag)::type>(plan_, src, dst);
        });
    }

private:
    const Node& node_;
    ReduceAxes axes_;
    ReducePlan plan_;
};

// ReduceSum takes axes as an input from opset 13, the other reductions from opset 18.
template <Reduce kOp>
void add_reduce(KernelRegistry& registry, const std::string& op_type, int64_t axes_input_opset = 18) {
    registry.add_reference(op_type, [axes_input_opset](const KernelContext& context) -> Result<KernelPtr> {
        return KernelPtr(new ReduceKernel<kOp>(context.node, context.opset, axes_input_opset));
    });
}

}  // namespace

void register_reduce_kernels(KernelRegistry& registry) {
    add_reduce<Reduce::kSum>(registry, "ReduceSum", 13);
    add_reduce<Reduce::kMean>(registry, "ReduceMean");
    add_reduce<Reduce::kMax>(registry, "ReduceMax");
    add_reduce<Reduce::kMin>(registry, "ReduceMin");
    add_reduce<Reduce::kProd>(registry, "ReduceProd");
    add_reduce<Reduce::kL1>(registry, "ReduceL1");
    add_reduce<Reduce::kL2>(registry, "ReduceL2");
    add_reduce<Reduce::kSumSquare>(registry, "ReduceSumSquare");
    add_reduce<Reduce::kLogSum>(registry, "ReduceLogSum");
    add_reduce<Reduce::kLogSumExp>(registry, "ReduceLogSumExp");
}

}  // namespace pare

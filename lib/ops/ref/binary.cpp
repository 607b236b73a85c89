// Broadcasting binary arithmetic: Add, Sub, Mul, Div, Mod, Pow, BitShift, PRelu. Integers compute in their own
// type with wrap-around on overflow; division and remainder by zero give 0 instead of trapping.
#include <cmath>
#include <limits>

#include "ops/ref/binary_kernel.h"
#include "ops/ref/cast.h"
#include "ops/register_kernels.h"

namespace pare {

namespace {

struct AddOp {
    static constexpr DTypeSet kTypes = DTypeSet::kNumeric;
    static constexpr bool kBoolOutput = false;
    template <class C> C operator()(C a, C b) const { return wrapping_add(a, b); }
};

struct SubOp {
    static constexpr DTypeSet kTypes = DTypeSet::kNumeric;
    static constexpr bool kBoolOutput = false;
    template <class C> C operator()(C a, C b) const { return wrapping_sub(a, b); }
};

struct MulOp {
    static constexpr DTypeSet kTypes = DTypeSet::kNumeric;
    static constexpr bool kBoolOutput = false;
    template <class C> C operator()(C a, C b) const { return wrapping_mul(a, b); }
};

// Integer division truncates toward zero (as C, and as numpy's true division cast back to the integer type).
struct DivOp {
    static constexpr DTypeSet kTypes = DTypeSet::kNumeric;
    static constexpr bool kBoolOutput = false;
    template <class C> C operator()(C a, C b) const {
        if constexpr (std::is_integral_v<C>) {
            if (b == 0) return 0;
            if constexpr (std::is_signed_v<C>) {
                if (b == -1) return wrapping_sub(C(0), a);  // lowest() / -1 overflows
            }
        }
        return a / b;
    }
};

// Truncated remainder: the result takes the sign of the dividend (C fmod / %). Mod with fmod=1.
struct FmodOp {
    static constexpr DTypeSet kTypes = DTypeSet::kNumeric;
    static constexpr bool kBoolOutput = false;
    template <class C> C operator()(C a, C b) const {
        if constexpr (std::is_floating_point_v<C>) {
            return std::fmod(a, b);
        } else {
            if (b == 0) return 0;
            if constexpr (std::is_signed_v<C>) {
                if (b == -1) return 0;  // lowest() % -1 traps
            }
            return static_cast<C>(a % b);
        }
    }
};

// Floored remainder: the result takes the sign of the divisor (Python's %, numpy.mod). Mod with fmod=0.
struct ModOp {
    static constexpr DTypeSet kTypes = DTypeSet::kNumeric;
    static constexpr bool kBoolOutput = false;
    template <class C> C operator()(C a, C b) const {
        const C r = FmodOp()(a, b);
        if constexpr (std::is_unsigned_v<C>) {
            return r;
        } else {
            return r != 0 && ((r < 0) != (b < 0)) ? static_cast<C>(r + b) : r;
        }
    }
};

// Shifts of unsigned integers; shifting by the bit width or more gives 0 (undefined in C++).
struct ShiftLeftOp {
    static constexpr DTypeSet kTypes = DTypeSet::kUnsigned;
    static constexpr bool kBoolOutput = false;
    template <class C> C operator()(C a, C b) const {
        return b >= std::numeric_limits<C>::digits ? C(0) : static_cast<C>(a << b);
    }
};

struct ShiftRightOp {
    static constexpr DTypeSet kTypes = DTypeSet::kUnsigned;
    static constexpr bool kBoolOutput = false;
    template <class C> C operator()(C a, C b) const {
        return b >= std::numeric_limits<C>::digits ? C(0) : static_cast<C>(a >> b);
    }
};

// PRelu(x, slope): input 1 is the slope, broadcast to x.
struct PReluOp {
    static constexpr DTypeSet kTypes = DTypeSet::kNumeric;
    static constexpr bool kBoolOutput = false;
    template <class C> C operator()(C x, C slope) const {
        if constexpr (std::is_unsigned_v<C>) {
            return x;
        } else {
            return x < 0 ? wrapping_mul(x, slope) : x;
        }
    }
};

// x^n for an integer base and exponent by repeated squaring, wrapping like the integer type. Negative exponents
// give the truncated reciprocal: 1 and -1 keep their magnitude, everything else becomes 0.
int64_t integer_pow(int64_t x, int64_t n) {
    if (n < 0) return x == 1 ? 1 : x == -1 ? (n % 2 ? -1 : 1) : 0;
    int64_t result = 1;
    while (n > 0) {
        if (n & 1) result = wrapping_mul(result, x);
        x = wrapping_mul(x, x);
        n >>= 1;
    }
    return result;
}

// Pow(X: T, Y: T1): the exponent may have another dtype than the base, so it is converted once, to int64 when
// both are integers (exact powers) and to double otherwise. Float bases compute in double and round once.
class PowKernel : public Kernel {
public:
    explicit PowKernel(const Node& node) : node_(node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 2, 2));
        for (int i = 0; i < 2; ++i) PARE_RETURN_IF_ERROR(check_dtype_in(node_, inputs[i].dtype, DTypeSet::kNumeric));
        PARE_ASSIGN_OR_RETURN(Shape shape, broadcast_input_shapes(node_, inputs, 0, 2));
        outputs = {OutputInfo{inputs[0].dtype, shape}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& base = inputs[0];
        Tensor& dst = outputs[0];
        const bool integer_powers = !dtype_is_float(base.dtype()) && !dtype_is_float(inputs[1].dtype());
        const DType exponent_dtype = integer_powers ? DType::kI64 : DType::kF64;
        PARE_ASSIGN_OR_RETURN(const Tensor exponent, cast_tensor(inputs[1], exponent_dtype));
        const BroadcastLoop loop({base.shape(), exponent.shape()}, dst.shape());
        return dispatch_dtype<DTypeSet::kNumeric>(base.dtype(), [&](auto tag) {
            using T = typename decltype(tag)::type;
            if (integer_powers) {
                if constexpr (!kIsFloat<T>) {
                    broadcast_map(loop, dst.data<T>(), [](T x, int64_t n) { return static_cast<T>(integer_pow(x, n)); },
                                  base.data<T>(), exponent.data<int64_t>());
                }
            } else {
                broadcast_map(loop, dst.data<T>(),
                              [](T x, double y) { return store<T>(std::pow(static_cast<double>(load(x)), y)); },
                              base.data<T>(), exponent.data<double>());
            }
        });
    }

private:
    const Node& node_;
};

}  // namespace

void register_binary_kernels(KernelRegistry& registry) {
    add_binary<AddOp>(registry, "Add");
    add_binary<SubOp>(registry, "Sub");
    add_binary<MulOp>(registry, "Mul");
    add_binary<DivOp>(registry, "Div");
    registry.add_reference("Mod", [](const KernelContext& context) -> Result<KernelPtr> {
        // numpy.mod semantics for floats with fmod=0, which the spec disallows but the ONNX reference computes.
        if (context.node.attr_int("fmod", 0)) return KernelPtr(new BinaryKernel<FmodOp>(context.node, FmodOp(), false));
        return KernelPtr(new BinaryKernel<ModOp>(context.node, ModOp(), false));
    });
    registry.add_reference("BitShift", [](const KernelContext& context) -> Result<KernelPtr> {
        const std::string direction = context.node.attr_string("direction", "");
        if (direction == "LEFT") return KernelPtr(new BinaryKernel<ShiftLeftOp>(context.node, ShiftLeftOp(), false));
        if (direction == "RIGHT") return KernelPtr(new BinaryKernel<ShiftRightOp>(context.node, ShiftRightOp(), false));
        return invalid_input(context.node.describe() + ": direction must be LEFT or RIGHT, not '" + direction + "'");
    });
    registry.add_reference("PRelu", [](const KernelContext& context) -> Result<KernelPtr> {
        return KernelPtr(new BinaryKernel<PReluOp>(context.node, PReluOp(), true));
    });
    registry.add_reference("Pow", [](const KernelContext& context) -> Result<KernelPtr> {
        PARE_RETURN_IF_ERROR(check_no_legacy_broadcast(context.node, context.opset));
        return KernelPtr(new PowKernel(context.node));
    });
}

}  // namespace pare

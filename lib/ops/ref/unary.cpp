// Element-wise unary ops on floating-point tensors (computed in float for f16/bf16, in double for f64), plus the
// ones that also take integers (Abs, Neg, Sign).
#include <cmath>
#include <functional>

#include "core/half.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

using UnaryFn = std::function<double(double)>;

// Applies fn element by element, converting through double so one definition serves every dtype.
class UnaryKernel : public Kernel {
public:
    UnaryKernel(const Node& node, UnaryFn fn, bool integers_allowed)
        : node_(node), fn_(std::move(fn)), integers_allowed_(integers_allowed) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, 1));
        const DType dtype = inputs[0].dtype;
        if (!dtype_is_float(dtype) && !(integers_allowed_ && dtype_is_integer(dtype))) {
            return unsupported(node_.describe() + " on " + dtype_name(dtype) + " tensors");
        }
        outputs = {OutputInfo{dtype, inputs[0].shape}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& src = inputs[0];
        Tensor& dst = outputs[0];
        const int64_t n = src.numel();
        switch (src.dtype()) {
            case DType::kF32: {
                const float* s = src.data<float>();
                float* d = dst.data<float>();
#pragma omp parallel for if (n > 65536)
                for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(fn_(s[i]));
                break;
            }
            case DType::kF64: {
                const double* s = src.data<double>();
                double* d = dst.data<double>();
                for (int64_t i = 0; i < n; ++i) d[i] = fn_(s[i]);
                break;
            }
            default: {
                // f16, bf16 and integers: through a double copy, rounded back on store.
                Tensor result(DType::kF64, src.shape());
                const Tensor as_double = src.cast(DType::kF64);
                const double* s = as_double.data<double>();
                double* r = result.data<double>();
                for (int64_t i = 0; i < n; ++i) r[i] = fn_(s[i]);
                const Tensor back = result.cast(dst.dtype());
                std::copy_n(static_cast<const char*>(back.raw()), back.nbytes(), static_cast<char*>(dst.raw()));
                break;
            }
        }
        return Status();
    }

private:
    const Node& node_;
    UnaryFn fn_;
    bool integers_allowed_;
};

double erf_gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double tanh_gelu(double x) {
    return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

void add_unary(KernelRegistry& registry, const std::string& op, std::function<UnaryFn(const Node&)> make_fn,
               bool integers_allowed = false) {
    registry.add_reference(op, [make_fn, integers_allowed](const KernelContext& context) -> Result<KernelPtr> {
        return KernelPtr(new UnaryKernel(context.node, make_fn(context.node), integers_allowed));
    });
}

void add_unary(KernelRegistry& registry, const std::string& op, double (*fn)(double), bool integers_allowed = false) {
    add_unary(registry, op, [fn](const Node&) { return UnaryFn(fn); }, integers_allowed);
}

}  // namespace

void register_unary_kernels(KernelRegistry& registry) {
    add_unary(registry, "Relu", [](double x) { return x > 0 ? x : 0.0; }, true);
    add_unary(registry, "Sigmoid", [](double x) { return 1.0 / (1.0 + std::exp(-x)); });
    add_unary(registry, "Tanh", [](double x) { return std::tanh(x); });
    add_unary(registry, "Exp", [](double x) { return std::exp(x); });
    add_unary(registry, "Log", [](double x) { return std::log(x); });
    add_unary(registry, "Sqrt", [](double x) { return std::sqrt(x); });
    add_unary(registry, "Abs", [](double x) { return std::fabs(x); }, true);
    add_unary(registry, "Neg", [](double x) { return -x; }, true);
    add_unary(registry, "Reciprocal", [](double x) { return 1.0 / x; });
    add_unary(registry, "Floor", [](double x) { return std::floor(x); });
    add_unary(registry, "Ceil", [](double x) { return std::ceil(x); });
    add_unary(registry, "Round", [](double x) { return std::nearbyint(x); });  // half to even (default rounding mode)
    add_unary(registry, "Sign", [](double x) { return static_cast<double>((x > 0) - (x < 0)); }, true);
    add_unary(registry, "Sin", [](double x) { return std::sin(x); });
    add_unary(registry, "Cos", [](double x) { return std::cos(x); });
    add_unary(registry, "Tan", [](double x) { return std::tan(x); });
    add_unary(registry, "Asin", [](double x) { return std::asin(x); });
    add_unary(registry, "Acos", [](double x) { return std::acos(x); });
    add_unary(registry, "Atan", [](double x) { return std::atan(x); });
    add_unary(registry, "Sinh", [](double x) { return std::sinh(x); });
    add_unary(registry, "Cosh", [](double x) { return std::cosh(x); });
    add_unary(registry, "Asinh", [](double x) { return std::asinh(x); });
    add_unary(registry, "Acosh", [](double x) { return std::acosh(x); });
    add_unary(registry, "Atanh", [](double x) { return std::atanh(x); });
    add_unary(registry, "Erf", [](double x) { return std::erf(x); });
    add_unary(registry, "Softplus", [](double x) { return x > 30 ? x : std::log1p(std::exp(x)); });
    add_unary(registry, "Softsign", [](double x) { return x / (1.0 + std::fabs(x)); });
    add_unary(registry, "Mish", [](double x) { return x * std::tanh(x > 30 ? x : std::log1p(std::exp(x))); });
    add_unary(registry, "LeakyRelu", [](const Node& node) -> UnaryFn {
        const double alpha = node.attr_float("alpha", 0.01f);
        return [alpha](double x) { return x >= 0 ? x : alpha * x; };
    });
    add_unary(registry, "Elu", [](const Node& node) -> UnaryFn {
        const double alpha = node.attr_float("alpha", 1.0f);
        return [alpha](double x) { return x >= 0 ? x : alpha * (std::exp(x) - 1.0); };
    });
    add_unary(registry, "Celu", [](const Node& node) -> UnaryFn {
        const double alpha = node.attr_float("alpha", 1.0f);
        return [alpha](double x) { return std::max(0.0, x) + std::min(0.0, alpha * (std::exp(x / alpha) - 1.0)); };
    });
    add_unary(registry, "Selu", [](const Node& node) -> UnaryFn {
        const double alpha = node.attr_float("alpha", 1.67326319217681884765625f);
        const double gamma = node.attr_float("gamma", 1.05070102214813232421875f);
        return [alpha, gamma](double x) { return x > 0 ? gamma * x : gamma * (alpha * std::exp(x) - alpha); };
    });
    add_unary(registry, "ThresholdedRelu", [](const Node& node) -> UnaryFn {
        const double alpha = node.attr_float("alpha", 1.0f);
        return [alpha](double x) { return x > alpha ? x : 0.0; };
    });
    add_unary(registry, "HardSigmoid", [](const Node& node) -> UnaryFn {
        const double alpha = node.attr_float("alpha", 0.2f), beta = node.attr_float("beta", 0.5f);
        return [alpha, beta](double x) { return std::max(0.0, std::min(1.0, alpha * x + beta)); };
    });
    add_unary(registry, "HardSwish", [](double x) { return x * std::max(0.0, std::min(1.0, x / 6.0 + 0.5)); });
    add_unary(registry, "Gelu", [](const Node& node) -> UnaryFn {
        return node.attr_string("approximate", "none") == "tanh" ? UnaryFn(tanh_gelu) : UnaryFn(erf_gelu);
    });
    add_unary(registry, "Shrink", [](const Node& node) -> UnaryFn {
        const double lambd = node.attr_float("lambd", 0.5f), bias = node.attr_float("bias", 0.0f);
        return [lambd, bias](double x) { return x < -lambd ? x + bias : x > lambd ? x - bias : 0.0; };
    }, true);
}

}  // namespace pare

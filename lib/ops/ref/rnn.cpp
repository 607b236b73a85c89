// The recurrent ops RNN, GRU and LSTM: forward, reverse and bidirectional, optional bias, sequence lengths, initial
// states and peepholes, configurable activations, clip, and the batch-major layout of opset 14. Everything is computed
// in double. The three ops share all the plumbing below; only their cell equations (rnn_cell, gru_cell, lstm_cell)
// differ.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <optional>

#include "ops/kernel_util.h"
#include "ops/ref/matrix_multiply.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

enum class CellKind { kRnn, kGru, kLstm };

int gate_count(CellKind kind) {
    return kind == CellKind::kRnn ? 1 : kind == CellKind::kGru ? 3 : 4;
}

enum class ActivationKind {
    kRelu,
    kTanh,
    kSigmoid,
    kAffine,
    kLeakyRelu,
    kThresholdedRelu,
    kScaledTanh,
    kHardSigmoid,
    kElu,
    kSoftsign,
    kSoftplus
};

struct Activation {
    ActivationKind kind = ActivationKind::kTanh;
    double alpha = 0, beta = 0;

    double operator()(double x) const {
        switch (kind) {
            case ActivationKind::kRelu:
                return std::max(0.0, x);
            case ActivationKind::kTanh:
                return std::tanh(x);
            case ActivationKind::kSigmoid:
                return 1.0 / (1.0 + std::exp(-x));
            case ActivationKind::kAffine:
                return alpha * x + beta;
            case ActivationKind::kLeakyRelu:
                return x >= 0 ? x : alpha * x;
            case ActivationKind::kThresholdedRelu:
                return x > alpha ? x : 0.0;
            case ActivationKind::kScaledTanh:
                return alpha * std::tanh(beta * x);
            case ActivationKind::kHardSigmoid:
                return std::max(0.0, std::min(1.0, alpha * x + beta));
            case ActivationKind::kElu:
                return x >= 0 ? x : alpha * (std::exp(x) - 1.0);
            case ActivationKind::kSoftsign:
                return x / (1.0 + std::fabs(x));
            case ActivationKind::kSoftplus:
                return x > 30 ? x : std::log1p(std::exp(x));
        }
        return x;
    }
};

// An activation's name (matched case-insensitively), how many of activation_alpha/activation_beta it consumes, and the
// defaults of the ONNX op of the same name.
struct ActivationSpec {
    const char* name;
    ActivationKind kind;
    bool takes_alpha, takes_beta;
    double alpha, beta;
};

const ActivationSpec kActivations[] = {
    {"relu", ActivationKind::kRelu, false, false, 0, 0},
    {"tanh", ActivationKind::kTanh, false, false, 0, 0},
    {"sigmoid", ActivationKind::kSigmoid, false, false, 0, 0},
    {"affine", ActivationKind::kAffine, true, true, 1.0, 0.0},
    {"leakyrelu", ActivationKind::kLeakyRelu, true, false, 0.01, 0},
    {"thresholdedrelu", ActivationKind::kThresholdedRelu, true, false, 1.0, 0},
    {"scaledtanh", ActivationKind::kScaledTanh, true, true, 1.0, 1.0},
    {"hardsigmoid", ActivationKind::kHardSigmoid, true, true, 0.2, 0.5},
    {"elu", ActivationKind::kElu, true, false, 1.0, 0},
    {"softsign", ActivationKind::kSoftsign, false, false, 0, 0},
    {"softplus", ActivationKind::kSoftplus, false, false, 0, 0},
};

// The activations for every direction (per_direction of them each), from the `activations` attribute or the
// defaults. activation_alpha/beta values go, in order, to the activations that take them.
Result<std::vector<Activation>> read_activations(const Node& node, const std::vector<std::string>& defaults,
                                                 int directions) {
    std::vector<std::string> names;
    if (const auto* attribute = node.attribute("activations")) {
        for (const auto& name : attribute->strings()) names.push_back(name);
    }
    const size_t per_direction = defaults.size();
    if (names.empty()) names = defaults;
    if (names.size() == per_direction && directions == 2) {
        const std::vector<std::string> one_direction = names;
        names.insert(names.end(), one_direction.begin(), one_direction.end());
    }
    if (names.size() != per_direction * directions) {
        return invalid_input(node.describe() + ": expects " + std::to_string(per_direction * directions) +
                             " activations, got " + std::to_string(names.size()));
    }
    const std::vector<float> alphas = node.attr_floats("activation_alpha"), betas = node.attr_floats("activation_beta");
    size_t next_alpha = 0, next_beta = 0;
    std::vector<Activation> activations;
    for (const std::string& name : names) {
        std::string lower = name;
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        const ActivationSpec* spec = nullptr;
        for (const auto& candidate : kActivations) {
            if (lower == candidate.name) spec = &candidate;
        }
        if (!spec) return unsupported(node.describe() + ": activation '" + name + "'");
        Activation activation{spec->kind, spec->alpha, spec->beta};
        if (spec->takes_alpha && next_alpha < alphas.size()) activation.alpha = alphas[next_alpha++];
        if (spec->takes_beta && next_beta < betas.size()) activation.beta = betas[next_beta++];
        activations.push_back(activation);
    }
    return activations;
}

// One direction's weights and settings, as the cells see them. Gate blocks are in the op's order (GRU z, r, h;
// LSTM i, o, f, c), each `hidden` rows.
struct Direction {
    int64_t hidden = 0;
    const double* r = nullptr;         // R: [gates * hidden, hidden]
    const double* r_bias = nullptr;    // Rb: [gates * hidden]
    const double* peephole = nullptr;  // LSTM P: [3 * hidden] (i, o, f)
    const Activation* activations = nullptr;
    std::optional<double> clip;
    bool linear_before_reset = false;  // GRU
    bool input_forget = false;         // LSTM

    // Applies activation `which` to a gate pre-activation, clipped first when `clip` is set.
    double activate(int which, double x) const {
        if (clip) x = std::max(-*clip, std::min(*clip, x));
        return activations[which](x);
    }
};

// Cell equations for one batch entry. `xw` is X_t * W^T + Wb, `hr` is H_{t-1} * R^T (without Rb); both have
// gates * hidden values. They write the new hidden (and cell) state.
void rnn_cell(const Direction& d, const double* xw, const double* hr, const double*, const double*, double* h,
              double*) {
    for (int64_t j = 0; j < d.hidden; ++j) h[j] = d.activate(0, xw[j] + hr[j] + d.r_bias[j]);
}

void gru_cell(const Direction& d, const double* xw, const double* hr, const double* h_prev, const double*, double* h,
              double*) {
    const int64_t n = d.hidden;
    std::vector<double> z(n), r(n), candidate(n), reset_hidden(n), reset_product(n);
    for (int64_t j = 0; j < n; ++j) {
        z[j] = d.activate(0, xw[j] + hr[j] + d.r_bias[j]);
        r[j] = d.activate(0, xw[n + j] + hr[n + j] + d.r_bias[n + j]);
    }
    if (!d.linear_before_reset) {
        // (r . H_{t-1}) * Rh^T: the reset applies before the recurrent product.
        for (int64_t j = 0; j < n; ++j) reset_hidden[j] = r[j] * h_prev[j];
        reference_gemm<double>(false, true, 1, n, n, 1.0, reset_hidden.data(), n, d.r + 2 * n * n, n, 0.0,
                               reset_product.data(), n);
    }
    for (int64_t j = 0; j < n; ++j) {
        const double recurrent = d.linear_before_reset ? r[j] * (hr[2 * n + j] + d.r_bias[2 * n + j])
                                                       : reset_product[j] + d.r_bias[2 * n + j];
        candidate[j] = d.activate(1, xw[2 * n + j] + recurrent);
        h[j] = (1.0 - z[j]) * candidate[j] + z[j] * h_prev[j];
    }
}

void lstm_cell(const Direction& d, const double* xw, const double* hr, const double*, const double* c_prev, double* h,
               double* c) {
    const int64_t n = d.hidden;
    auto pre = [&](int gate, int64_t j) { return xw[gate * n + j] + hr[gate * n + j] + d.r_bias[gate * n + j]; };
    auto peep = [&](int which, int64_t j, double state) {
        return d.peephole ? d.peephole[which * n + j] * state : 0.0;
    };
    for (int64_t j = 0; j < n; ++j) {
        const double input = d.activate(0, pre(0, j) + peep(0, j, c_prev[j]));
        const double forget = d.input_forget ? 1.0 - input : d.activate(0, pre(2, j) + peep(2, j, c_prev[j]));
        const double candidate = d.activate(1, pre(3, j));
        c[j] = forget * c_prev[j] + input * candidate;
        const double output = d.activate(0, pre(1, j) + peep(1, j, c[j]));
        h[j] = output * d.activations[2](c[j]);
    }
}

using CellFn = void (*)(const Direction&, const double*, const double*, const double*, const double*, double*, double*);

// Input i as doubles, or an empty vector when it is omitted.
std::vector<double> to_doubles(const std::vector<Tensor>& inputs, size_t i) {
    if (i >= inputs.size() || !inputs[i].defined()) return {};
    const Tensor wide = inputs[i].cast(DType::kF64);
    return std::vector<double>(wide.data<double>(), wide.data<double>() + wide.numel());
}

// Swaps the two leading dims of a row-major [a, b, inner] array: the batch-major layout <-> the sequence-major one.
std::vector<double> swap_leading(const std::vector<double>& src, int64_t a, int64_t b, int64_t inner) {
    std::vector<double> dst(src.size());
    for (int64_t i = 0; i < a; ++i) {
        for (int64_t j = 0; j < b; ++j) std::copy_n(&src[(i * b + j) * inner], inner, &dst[(j * a + i) * inner]);
    }
    return dst;
}

void store(const std::vector<double>& values, Tensor& dst) {
    Tensor wide(DType::kF64, dst.shape());
    std::copy(values.begin(), values.end(), wide.data<double>());
    const Tensor narrow = wide.cast(dst.dtype());
    std::memcpy(dst.raw(), narrow.raw(), narrow.nbytes());
}

class RecurrentKernel : public Kernel {
  public:
    RecurrentKernel(const Node& node, CellKind kind, std::vector<Activation> activations, int directions)
        : node_(node),
          kind_(kind),
          activations_(std::move(activations)),
          directions_(directions),
          hidden_(node.attr_int("hidden_size", 0)),
          batch_major_(node.attr_int("layout", 0) != 0),
          reverse_(node.attr_string("direction", "forward") == "reverse"),
          linear_before_reset_(node.attr_int("linear_before_reset", 0) != 0),
          input_forget_(node.attr_int("input_forget", 0) != 0) {
        if (node.has_attribute("clip")) clip_ = node.attr_float("clip", 0.0f);
    }

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const int max_inputs = kind_ == CellKind::kLstm ? 8 : 6;
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 3, max_inputs));
        PARE_RETURN_IF_ERROR(
            check_input_dtype(node_, inputs, 0, {DType::kF32, DType::kF64, DType::kF16, DType::kBF16}));
        const Shape& x = inputs[0].shape;
        if (x.size() != 3) return invalid_input(node_.describe() + ": X must be 3-D, got " + shape_to_string(x));
        steps_ = batch_major_ ? x[1] : x[0];
        batch_ = batch_major_ ? x[0] : x[1];
        input_size_ = x[2];
        // hidden_size may be left out: R is [directions, gates * hidden, hidden].
        if (!node_.has_attribute("hidden_size") && inputs[2].shape.size() == 3) hidden_ = inputs[2].shape[2];
        if (hidden_ <= 0) return invalid_input(node_.describe() + ": hidden_size must be positive");
        const int64_t gates = gate_count(kind_) * hidden_, d = directions_;
        const Shape state = batch_major_ ? Shape{batch_, d, hidden_} : Shape{d, batch_, hidden_};
        // Expected shape of each input, by position.
        const std::vector<Shape> expected = {
            x, {d, gates, input_size_}, {d, gates, hidden_}, {d, 2 * gates}, {batch_}, state, state, {d, 3 * hidden_}};
        for (size_t i = 1; i < inputs.size(); ++i) {
            if (!inputs[i].present) continue;
            const DType wanted = i == 4 ? DType::kI32 : inputs[0].dtype;
            const bool dtype_ok = inputs[i].dtype == wanted || (i == 4 && inputs[i].dtype == DType::kI64);
            if (!dtype_ok || inputs[i].shape != expected[i]) {
                return invalid_input(node_.describe() + ": input " + std::to_string(i) + " is " +
                                     dtype_name(inputs[i].dtype) + " " + shape_to_string(inputs[i].shape) +
                                     ", expected " + dtype_name(wanted) + " " + shape_to_string(expected[i]) +
                                     " for X " + shape_to_string(x) + " and hidden_size " + std::to_string(hidden_));
            }
        }
        const DType dtype = inputs[0].dtype;
        outputs = {
            OutputInfo{dtype, batch_major_ ? Shape{batch_, steps_, d, hidden_} : Shape{steps_, d, batch_, hidden_}},
            OutputInfo{dtype, state}};
        if (kind_ == CellKind::kLstm) outputs.push_back(OutputInfo{dtype, state});
        if (node_.num_outputs() > static_cast<int>(outputs.size())) {
            return invalid_input(node_.describe() + " has " + std::to_string(node_.num_outputs()) +
                                 " outputs; it makes " + std::to_string(outputs.size()));
        }
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const int64_t gates = gate_count(kind_) * hidden_, state_size = batch_ * hidden_;
        std::vector<double> x = to_doubles(inputs, 0), w = to_doubles(inputs, 1), r = to_doubles(inputs, 2);
        std::vector<double> bias = to_doubles(inputs, 3), h0 = to_doubles(inputs, 5), c0 = to_doubles(inputs, 6);
        const std::vector<double> peephole = to_doubles(inputs, 7);
        std::vector<int64_t> lengths(batch_, steps_);
        if (inputs.size() > 4 && inputs[4].defined()) lengths = tensor_to_int64s(inputs[4]);
        for (int64_t length : lengths) {
            if (length < 0 || length > steps_) {
                return invalid_input(node_.describe() + ": sequence_lens value " + std::to_string(length) +
                                     " outside [0, " + std::to_string(steps_) + "]");
            }
        }
        // Work in the sequence-major layout: X [steps, batch, input], states [directions, batch, hidden].
        if (batch_major_) {
            x = swap_leading(x, batch_, steps_, input_size_);
            if (!h0.empty()) h0 = swap_leading(h0, batch_, directions_, hidden_);
            if (!c0.empty()) c0 = swap_leading(c0, batch_, directions_, hidden_);
        }
        if (bias.empty()) bias.assign(directions_ * 2 * gates, 0.0);
        std::vector<double> y(steps_ * directions_ * state_size, 0.0);
        std::vector<double> h_last(directions_ * state_size, 0.0), c_last(directions_ * state_size, 0.0);
        const CellFn cell = kind_ == CellKind::kRnn ? rnn_cell : kind_ == CellKind::kGru ? gru_cell : lstm_cell;
        for (int dir = 0; dir < directions_; ++dir) {
            Direction d;
            d.hidden = hidden_;
            d.r = r.data() + dir * gates * hidden_;
            d.r_bias = bias.data() + dir * 2 * gates + gates;
            d.peephole = peephole.empty() ? nullptr : peephole.data() + dir * 3 * hidden_;
            d.activations = activations_.data() + dir * (activations_.size() / directions_);
            d.clip = clip_;
            d.linear_before_reset = linear_before_reset_;
            d.input_forget = input_forget_;
            const bool reverse = reverse_ || dir == 1;  // bidirectional: the second direction runs backwards

            // X * W^T + Wb for every step at once: [steps * batch, gates].
            std::vector<double> xw(steps_ * batch_ * gates);
            reference_gemm<double>(false, true, steps_ * batch_, gates, input_size_, 1.0, x.data(), input_size_,
                                   w.data() + dir * gates * input_size_, input_size_, 0.0, xw.data(), gates);
            const double* w_bias = bias.data() + dir * 2 * gates;
            for (int64_t row = 0; row < steps_ * batch_; ++row) {
                for (int64_t g = 0; g < gates; ++g) xw[row * gates + g] += w_bias[g];
            }
            std::vector<double> h(state_size, 0.0), c(state_size, 0.0), hr(batch_ * gates);
            if (!h0.empty()) std::copy_n(h0.data() + dir * state_size, state_size, h.data());
            if (!c0.empty()) std::copy_n(c0.data() + dir * state_size, state_size, c.data());
            std::vector<double> h_next(hidden_), c_next(hidden_);
            for (int64_t step = 0; step < steps_; ++step) {
                reference_gemm<double>(false, true, batch_, gates, hidden_, 1.0, h.data(), hidden_, d.r, hidden_, 0.0,
                                       hr.data(), gates);
                for (int64_t b = 0; b < batch_; ++b) {
                    if (step >= lengths[b]) continue;  // this sequence has ended: its state stays, its Y stays 0
                    // A reversed sequence starts from its own last element.
                    const int64_t t = reverse ? lengths[b] - 1 - step : step;
                    cell(d, &xw[(t * batch_ + b) * gates], &hr[b * gates], &h[b * hidden_], &c[b * hidden_],
                         h_next.data(), c_next.data());
                    std::copy(h_next.begin(), h_next.end(), &h[b * hidden_]);
                    std::copy(c_next.begin(), c_next.end(), &c[b * hidden_]);
                    std::copy(h_next.begin(), h_next.end(), &y[((t * directions_ + dir) * batch_ + b) * hidden_]);
                }
            }
            std::copy(h.begin(), h.end(), &h_last[dir * state_size]);
            std::copy(c.begin(), c.end(), &c_last[dir * state_size]);
        }
        if (batch_major_) {
            y = swap_leading(y, steps_ * directions_, batch_, hidden_);  // [batch, steps * directions, hidden]
            h_last = swap_leading(h_last, directions_, batch_, hidden_);
            c_last = swap_leading(c_last, directions_, batch_, hidden_);
        }
        store(y, outputs[0]);
        if (outputs.size() > 1) store(h_last, outputs[1]);
        if (outputs.size() > 2) store(c_last, outputs[2]);
        return Status();
    }

  private:
    const Node& node_;
    CellKind kind_;
    std::vector<Activation> activations_;
    int directions_;
    int64_t hidden_;
    bool batch_major_;
    bool reverse_;
    bool linear_before_reset_;
    bool input_forget_;
    std::optional<double> clip_;
    int64_t steps_ = 0, batch_ = 0, input_size_ = 0;
};

void add_recurrent(KernelRegistry& registry, const std::string& op, CellKind kind,
                   std::vector<std::string> default_activations) {
    registry.add_reference(op, [kind, default_activations](const KernelContext& context) -> Result<KernelPtr> {
        const Node& node = context.node;
        const std::string direction = node.attr_string("direction", "forward");
        if (direction != "forward" && direction != "reverse" && direction != "bidirectional") {
            return invalid_input(node.describe() + ": unknown direction '" + direction + "'");
        }
        const int directions = direction == "bidirectional" ? 2 : 1;
        PARE_ASSIGN_OR_RETURN(std::vector<Activation> activations,
                              read_activations(node, default_activations, directions));
        return KernelPtr(new RecurrentKernel(node, kind, std::move(activations), directions));
    });
}

}  // namespace

void register_rnn_kernels(KernelRegistry& registry) {
    add_recurrent(registry, "RNN", CellKind::kRnn, {"Tanh"});
    add_recurrent(registry, "GRU", CellKind::kGru, {"Sigmoid", "Tanh"});
    add_recurrent(registry, "LSTM", CellKind::kLstm, {"Sigmoid", "Tanh", "Tanh"});
}

}  // namespace pare

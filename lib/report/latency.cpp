#include "report/latency.h"

#include <chrono>

#include "report/metrics.h"
#include "report/report.h"

namespace pare {

namespace {

Result<double> time_one_run(Session& session, const std::vector<Tensor>& inputs) {
    const auto start = std::chrono::steady_clock::now();
    PARE_RETURN_IF_ERROR(session.run(inputs).status());
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

nlohmann::ordered_json summary_json(const std::vector<double>& ms, int64_t batch) {
    const LatencySummary summary = summarize_latency(ms);
    nlohmann::ordered_json json = latency_json(summary);
    json["samples_per_s"] = summary.mean_ms > 0 ? static_cast<double>(batch) * 1e3 / summary.mean_ms : 0.0;
    return json;
}

}  // namespace

Result<std::vector<double>> time_runs(Session& session, const std::vector<Tensor>& inputs, int64_t warmup,
                                      int64_t repeat, const std::function<void()>& after_run) {
    std::vector<double> ms;
    for (int64_t i = 0; i < warmup + repeat; ++i) {
        PARE_ASSIGN_OR_RETURN(const double run_ms, time_one_run(session, inputs));
        if (i >= warmup) ms.push_back(run_ms);
        if (after_run) after_run();
    }
    return ms;
}

Result<nlohmann::ordered_json> compare_latency(ModelRunner& before, ModelRunner& after,
                                               const std::vector<Tensor>& inputs, int64_t warmup, int64_t repeat) {
    std::vector<Shape> shapes;
    for (const Tensor& input : inputs) shapes.push_back(input.shape());
    PARE_ASSIGN_OR_RETURN(Session * before_session, before.session_for(shapes));
    PARE_ASSIGN_OR_RETURN(Session * after_session, after.session_for(shapes));
    std::vector<double> before_ms, after_ms;
    for (int64_t i = 0; i < warmup + repeat; ++i) {
        PARE_ASSIGN_OR_RETURN(const double b, time_one_run(*before_session, inputs));
        PARE_ASSIGN_OR_RETURN(const double a, time_one_run(*after_session, inputs));
        if (i < warmup) continue;
        before_ms.push_back(b);
        after_ms.push_back(a);
    }
    const int64_t batch = inputs.empty() || inputs[0].rank() == 0 ? 1 : inputs[0].dim(0);
    nlohmann::ordered_json json = {{"batch", batch}};
    json.update(summary_json(after_ms, batch));
    json["before_ms"] = summarize_latency(before_ms).p50_ms;
    json["after_ms"] = summarize_latency(after_ms).p50_ms;
    json["reference"] = summary_json(before_ms, batch);
    return json;
}

}  // namespace pare

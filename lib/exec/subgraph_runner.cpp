#include "exec/subgraph_runner.h"

namespace pare {

namespace {

class LazySubgraphRunner : public SubgraphRunner {
public:
    LazySubgraphRunner(const Graph& body, std::map<std::string, int64_t> opsets, SessionOptions options)
        : body_(body), opsets_(std::move(opsets)), options_(std::move(options)) {
        for (const auto& input : body_.header.input()) formal_inputs_.push_back(input.name());
        for (const auto& name : body_.outer_scope_reads()) outer_names_.push_back(name);
    }

    Result<std::vector<Tensor>> run(const std::vector<Tensor>& inputs,
                                    const std::map<std::string, Tensor>& outer_values) override {
        if (inputs.size() != formal_inputs_.size()) {
            return invalid_input("subgraph '" + body_.name() + "' takes " + std::to_string(formal_inputs_.size()) +
                                 " inputs, got " + std::to_string(inputs.size()));
        }
        std::vector<Tensor> all = inputs;
        for (const auto& name : outer_names_) {
            auto it = outer_values.find(name);
            if (it == outer_values.end()) return internal_error("subgraph reads '" + name + "', which was not passed");
            all.push_back(it->second);
        }
        if (!session_ || !matches(all)) {
            std::vector<std::string> names = formal_inputs_;
            names.insert(names.end(), outer_names_.begin(), outer_names_.end());
            std::vector<InputInfo> types;
            for (const Tensor& t : all) {
                InputInfo info;
                info.dtype = t.dtype();
                info.shape = t.shape();
                types.push_back(info);
            }
            PARE_ASSIGN_OR_RETURN(session_, Session::create_for_graph(body_, opsets_, names, types, options_));
        }
        return session_->run(all);
    }

private:
    bool matches(const std::vector<Tensor>& inputs) const {
        const auto& types = session_->input_types();
        for (size_t i = 0; i < inputs.size(); ++i) {
            if (inputs[i].dtype() != types[i].dtype || inputs[i].shape() != types[i].shape) return false;
        }
        return true;
    }

    const Graph& body_;
    std::map<std::string, int64_t> opsets_;
    SessionOptions options_;
    std::vector<std::string> formal_inputs_;
    std::vector<std::string> outer_names_;
    std::unique_ptr<Session> session_;
};

}  // namespace

Result<std::unique_ptr<SubgraphRunner>> make_subgraph_runner(const Graph& body, const std::map<std::string, int64_t>& opsets,
                                                             const SessionOptions& options) {
    return std::unique_ptr<SubgraphRunner>(new LazySubgraphRunner(body, opsets, options));
}

}  // namespace pare

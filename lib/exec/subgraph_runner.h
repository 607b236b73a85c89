// Runs If/Loop/Scan bodies: compiles a Session for the actual input types on first use and whenever they change.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "exec/session.h"

namespace pare {

Result<std::unique_ptr<SubgraphRunner>> make_subgraph_runner(const Graph& body, const std::map<std::string, int64_t>& opsets,
                                                             const SessionOptions& options);

}  // namespace pare

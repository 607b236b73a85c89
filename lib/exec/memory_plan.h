// Assigns arena offsets to buffers with known lifetimes so that buffers alive at the same time never overlap.
#pragma once

#include <cstddef>
#include <vector>

namespace pare {

struct BufferLifetime {
    size_t bytes = 0;
    int first_step = 0;  // step that writes it
    int last_step = 0;   // last step that reads it (inclusive)
};

struct ArenaPlan {
    std::vector<size_t> offsets;  // per buffer, 64-byte aligned
    size_t total_bytes = 0;
};

/// Greedy best-fit placement in step order: a buffer takes the smallest free gap that fits, freed blocks coalesce.
ArenaPlan plan_arena(const std::vector<BufferLifetime>& buffers);

}  // namespace pare

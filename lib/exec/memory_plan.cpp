#include "exec/memory_plan.h"

#include <algorithm>
#include <cstdint>
#include <map>

namespace pare {

namespace {

size_t aligned(size_t bytes) { return (bytes + 63) / 64 * 64; }

}  // namespace

ArenaPlan plan_arena(const std::vector<BufferLifetime>& buffers) {
    ArenaPlan plan;
    plan.offsets.assign(buffers.size(), 0);
    // Buffers ordered by first step (ties: larger first) so that big long-lived buffers settle low.
    std::vector<size_t> order(buffers.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        if (buffers[a].first_step != buffers[b].first_step) return buffers[a].first_step < buffers[b].first_step;
        return buffers[a].bytes > buffers[b].bytes;
    });
    std::map<size_t, size_t> live;  // offset -> size, of blocks in use
    std::vector<std::pair<int, size_t>> releases;  // (last step, buffer)
    for (size_t index : order) {
        const BufferLifetime& buffer = buffers[index];
        // Release blocks whose last reader ran before this buffer is written.
        for (auto it = releases.begin(); it != releases.end();) {
            if (it->first < buffer.first_step) {
                live.erase(plan.offsets[it->second]);
                it = releases.erase(it);
            } else {
                ++it;
            }
        }
        const size_t size = aligned(std::max<size_t>(buffer.bytes, 1));
        size_t best_offset = 0, best_gap = SIZE_MAX, cursor = 0;
        bool found = false;
        for (const auto& [offset, used] : live) {
            const size_t gap = offset - cursor;
            if (gap >= size && gap < best_gap) {
                best_gap = gap;
                best_offset = cursor;
                found = true;
            }
            cursor = std::max(cursor, offset + used);
        }
        const size_t chosen = found ? best_offset : cursor;
        plan.offsets[index] = chosen;
        live[chosen] = size;
        releases.emplace_back(buffer.last_step, index);
        plan.total_bytes = std::max(plan.total_bytes, chosen + size);
    }
    return plan;
}

}  // namespace pare

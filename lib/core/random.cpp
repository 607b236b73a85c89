#include "core/random.h"

#include <algorithm>
#include <numeric>
#include <utility>

namespace pare {

uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
    // (2^64 - bound) % bound == 2^64 % bound: the size of the incomplete block of residues at the bottom.
    const uint64_t threshold = (0 - bound) % bound;
    while (true) {
        const uint64_t draw = rng();
        if (draw >= threshold) return draw % bound;
    }
}

std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed) {
    std::vector<int64_t> order(static_cast<size_t>(std::max<int64_t>(n, 0)));
    std::iota(order.begin(), order.end(), int64_t{0});
    std::mt19937_64 rng(seed);
    for (size_t i = order.size(); i-- > 1;) std::swap(order[i], order[uniform_below(rng, i + 1)]);
    return order;
}

}  // namespace pare

#include "broker/heap_tuning.hpp"

#include <malloc.h>

namespace sluice::broker {

namespace {
// At full speed a subscriber's queue fills to a few thousand messages (~650 bytes each with
// their packet) and drains in one write; with glibc's defaults (trim above 128 KiB, 128 KiB of
// padding) every drain gave the top of the heap back and every refill grew it again: a brk and
// fresh zeroed pages per few messages, measured at 10-15% of the broker's time at QoS 0 on one
// io thread (docs/benchmarks.md). Keeping up to 32 MiB costs at most that much RSS after a
// burst; idle connections are not affected.
constexpr int trim_threshold = 32 << 20;
constexpr int top_pad = 4 << 20;
}  // namespace

void tune_heap() {
    ::mallopt(M_TRIM_THRESHOLD, trim_threshold);
    ::mallopt(M_TOP_PAD, top_pad);
}

}  // namespace sluice::broker

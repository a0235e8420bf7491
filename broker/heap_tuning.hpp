#pragma once

namespace sluice::broker {

// Tells glibc's allocator to keep freed memory at the top of the heap instead of handing it
// back to the kernel at once (docs/architecture.md, "Memory"). Called once at start.
void tune_heap();

}  // namespace sluice::broker

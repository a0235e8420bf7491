#pragma once
// Compaction of keyed topics: keeps the latest record of each key, drops tombstones (null
// values) older than delete_retention_ms. Works on closed segments only, off the writer
// thread: it reads the log like any reader, writes "<base>.log.cleaned" copies, and the
// partition's writer then swaps them in (partition_log::replace_segment). Offsets never
// change; batches keep their base offset and offset span, so producer state stays valid.
// Thread: any one thread per partition at a time.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "store/partition_log.hpp"

namespace sluice::store {

struct compaction_plan {
    struct item {
        std::shared_ptr<segment> old;
        std::string cleaned_path;
    };
    std::vector<item> items;
    std::size_t records_removed = 0;
};

errc build_compaction(const partition_log& log, std::int64_t now_ms, compaction_plan& plan);

}  // namespace sluice::store

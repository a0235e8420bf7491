#include "store/compactor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <unordered_map>

#include "store/batch_builder.hpp"
#include "store/batch_reader.hpp"
#include "store/batch_scanner.hpp"

namespace sluice::store {
namespace {

template <typename Fn>
errc for_each_batch(const segment& seg, Fn fn) {
    batch_scanner scan(seg.fd(), 0, seg.readable_size(), true);
    for (;;) {
        auto st = scan.next();
        if (st == batch_scanner::status::end) return errc::ok;
        if (st != batch_scanner::status::batch) return errc::corrupt_message;
        if (auto e = fn(scan.bytes()); e != errc::ok) return e;
    }
}

}  // namespace

errc build_compaction(const partition_log& log, std::int64_t now_ms, compaction_plan& plan) {
    auto segs = log.segments();
    if (segs.size() < 2) return errc::ok;
    const log_config& cfg = log.config();

    // Latest offset of every key, over the whole readable log (the active segment included,
    // so a key rewritten there is dropped from the closed ones).
    std::unordered_map<std::string, std::int64_t> latest;
    for (const auto& seg : segs) {
        auto e = for_each_batch(*seg, [&](byte_span bytes) {
            decoded_batch d;
            if (auto err = decode_batch(bytes, d); err != errc::ok) return err;
            for (auto& r : d.records)
                if (r.key) latest[*r.key] = r.offset;
            return errc::ok;
        });
        if (e != errc::ok) return e;
    }

    for (std::size_t i = 0; i + 1 < segs.size(); ++i) {
        const auto& seg = segs[i];
        byte_buffer out;
        bool changed = false;
        auto e = for_each_batch(*seg, [&](byte_span bytes) {
            decoded_batch d;
            if (auto err = decode_batch(bytes, d); err != errc::ok) return err;
            const auto& h = d.header;
            std::vector<const record*> keep;
            for (const auto& r : d.records) {
                bool superseded = r.key && latest[*r.key] != r.offset;
                bool expired_tombstone = !r.value && r.timestamp < now_ms - cfg.delete_retention_ms;
                if (!superseded && !expired_tombstone) keep.push_back(&r);
            }
            if (keep.size() == d.records.size() || h.is_control()) {
                out.insert(out.end(), bytes.begin(), bytes.end());
                return errc::ok;
            }
            changed = true;
            plan.records_removed += d.records.size() - keep.size();
            if (keep.empty()) return errc::ok;
            batch_builder b(h.codec());
            b.set_base_offset(h.base_offset);
            b.set_partition_leader_epoch(h.partition_leader_epoch);
            b.set_producer(h.producer_id, h.producer_epoch, h.base_sequence);
            b.set_last_offset_delta(h.last_offset_delta);
            b.set_attributes_extra(
                static_cast<std::int16_t>(h.attributes & ~batch_attr::compression_mask));
            for (const record* r : keep)
                b.add_with_delta(
                    static_cast<std::int32_t>(r->offset - h.base_offset), r->timestamp,
                    r->key ? std::optional<std::string_view>(*r->key) : std::nullopt,
                    r->value ? std::optional<std::string_view>(*r->value) : std::nullopt,
                    r->headers);
            auto built = b.build();
            if (!built) return errc::io_error;
            out.insert(out.end(), built->bytes().begin(), built->bytes().end());
            return errc::ok;
        });
        if (e != errc::ok) return e;
        if (!changed) continue;
        std::string path = seg->log_path() + ".cleaned";
        unique_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!fd || !pwrite_all(fd.get(), out.data(), out.size(), 0) || ::fdatasync(fd.get()) != 0) {
            ::unlink(path.c_str());
            return errc::io_error;
        }
        plan.items.push_back({seg, path});
    }
    return errc::ok;
}

}  // namespace sluice::store

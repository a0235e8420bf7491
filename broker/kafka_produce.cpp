#include "broker/kafka_produce.hpp"

#include <atomic>
#include <memory>
#include <mutex>

#include "broker/durable_log.hpp"
#include "broker/kafka_admin_handlers.hpp"
#include "store/byte_order.hpp"

namespace sluice::broker {

using kafka::error_code;

std::optional<std::vector<store::record_batch>> split_batches(const store::byte_buffer& bytes) {
    namespace L = store::batch_layout;
    std::vector<store::record_batch> out;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        if (bytes.size() - pos < L::header_size) return std::nullopt;
        const std::int32_t len = static_cast<std::int32_t>(
            store::load_be<std::uint32_t>(bytes.data() + pos + L::batch_length));
        if (len < static_cast<std::int32_t>(L::header_size - L::log_overhead)) return std::nullopt;
        const std::size_t total = static_cast<std::size_t>(len) + L::log_overhead;
        if (total > bytes.size() - pos) return std::nullopt;
        out.emplace_back(store::byte_buffer(bytes.begin() + static_cast<std::ptrdiff_t>(pos),
                                            bytes.begin() + static_cast<std::ptrdiff_t>(pos + total)));
        pos += total;
    }
    if (out.empty()) return std::nullopt;
    return out;
}

namespace {

// One Produce request in flight: the response is filled in as appends complete (on writer
// threads, under mu) and handed to `done` by whoever completes the last one.
struct produce_state {
    std::mutex mu;  // guards resp
    kafka::produce_response resp;
    std::atomic<std::size_t> outstanding{1};  // one for the setup, released at its end
    std::function<void(kafka::produce_response)> done;

    void release() {
        if (outstanding.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
        kafka::produce_response r;
        {
            std::lock_guard lock(mu);
            r = std::move(resp);
        }
        done(std::move(r));
    }
};

}  // namespace

void produce(durable_log& log, const kafka::produce_request& req,
             std::function<void(kafka::produce_response)> done) {
    auto st = std::make_shared<produce_state>();
    st->done = std::move(done);
    auto store = log.store_handle();
    // Shape the response first, so appends completing early only fill in their own slot.
    for (const auto& t : req.topics) {
        auto& rt = st->resp.topics.emplace_back();
        rt.name = t.name;
        for (const auto& p : t.partitions) rt.partitions.push_back({p.index});
    }
    for (std::size_t ti = 0; ti < req.topics.size(); ++ti) {
        const auto& t = req.topics[ti];
        for (std::size_t pi = 0; pi < t.partitions.size(); ++pi) {
            const auto& p = t.partitions[pi];
            auto set_error = [&](error_code e) {
                std::lock_guard lock(st->mu);
                st->resp.topics[ti].partitions[pi].error = e;
            };
            if (req.transactional_id) {
                set_error(error_code::invalid_request);  // no transactions (docs/kafka-protocol.md)
                continue;
            }
            if (!store) {
                set_error(kafka_error(store::errc::io_error));
                continue;
            }
            if (is_internal_topic(t.name)) {
                set_error(error_code::invalid_topic_exception);
                continue;
            }
            auto part = store->get(t.name, p.index);
            if (!part) {
                set_error(error_code::unknown_topic_or_partition);
                continue;
            }
            auto batches = p.records ? split_batches(*p.records) : std::nullopt;
            if (!batches) {
                set_error(error_code::corrupt_message);
                continue;
            }
            // Batches of one partition complete in order on its writer; the partition's answer
            // is the first batch's base offset, or the first error.
            const std::size_t n = batches->size();
            st->outstanding.fetch_add(n, std::memory_order_relaxed);
            auto first = std::make_shared<bool>(true);  // under st->mu
            for (auto& b : *batches) {
                part->append(std::move(b), [st, ti, pi, part, first, &log](const store::append_result& r) {
                    if (r.error == store::errc::io_error) log.report_result(r.error);
                    {
                        std::lock_guard lock(st->mu);
                        auto& out = st->resp.topics[ti].partitions[pi];
                        if (*first) {
                            out.base_offset = r.base_offset.value;
                            out.log_start_offset = part->log_start_offset().value;
                        }
                        if (r.error != store::errc::ok && out.error == error_code::none) {
                            out.error = kafka_error(r.error);
                            out.base_offset = -1;
                        }
                        *first = false;
                    }
                    st->release();
                });
            }
        }
    }
    st->release();
}

}  // namespace sluice::broker

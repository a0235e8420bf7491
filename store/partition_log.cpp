#include "store/partition_log.hpp"

#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "store/batch_reader.hpp"
#include "store/batch_scanner.hpp"

namespace sluice::store {
namespace fs = std::filesystem;
namespace {

constexpr const char* format_file = "partition.format";
constexpr const char* format_text = "sluice-partition-format 1\n";
constexpr const char* checkpoint_file = "recovery-checkpoint";
constexpr const char* epoch_file = "leader-epoch-checkpoint";
constexpr const char* producer_file = "producer.snapshot";
constexpr const char* clean_file = "clean-shutdown";

// "<20 digits><suffix>" -> base offset.
std::optional<std::int64_t> parse_segment_name(const std::string& name, const std::string& suffix) {
    if (name.size() != 20 + suffix.size() || name.compare(20, suffix.size(), suffix) != 0)
        return std::nullopt;
    std::int64_t v = 0;
    for (std::size_t i = 0; i < 20; ++i) {
        if (name[i] < '0' || name[i] > '9') return std::nullopt;
        if (v > (INT64_MAX - 9) / 10) return std::nullopt;
        v = v * 10 + (name[i] - '0');
    }
    return v;
}

bool ends_with(const std::string& s, const char* suffix) {
    std::size_t n = std::strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

}  // namespace

partition_log::partition_log(std::string dir, log_config config, clock_fn clock)
    : dir_(std::move(dir)), config_(config), clock_(std::move(clock)) {}

partition_log::~partition_log() = default;

void partition_log::report(std::string problem) {
    report_.problems.push_back(std::move(problem));
}

std::unique_ptr<partition_log> partition_log::open(const std::string& dir, const log_config& config,
                                                   clock_fn clock, errc& error) {
    std::unique_ptr<partition_log> log(new partition_log(dir, config, std::move(clock)));
    try {
        error = log->load();
    } catch (
        const std::exception& ex) {  // std::filesystem iteration, allocation: report, never crash
        log->report(std::string("cannot open: ") + ex.what());
        error = errc::io_error;
    }
    if (error != errc::ok) return nullptr;
    return log;
}

bool partition_log::write_checkpoint() {
    std::ostringstream out;
    out << "sluice-checkpoint 1\nrecovery_point " << recovery_point_.value << "\nlog_start "
        << log_start_offset().value << "\n";
    return write_file_atomic(dir_ + "/" + checkpoint_file, out.str());
}

errc partition_log::load() {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) return errc::io_error;

    // Format version first: refuse a folder written by a format we do not know.
    auto format = read_small_file(dir_ + "/" + format_file);
    if (!format) {
        bool empty = fs::is_empty(dir_, ec);
        if (ec) return errc::io_error;
        if (!empty) report("partition.format missing: assuming version 1");
        if (!write_file_atomic(dir_ + "/" + format_file, format_text)) return errc::io_error;
    } else if (*format != format_text) {
        report("unknown partition format: " + *format);
        return errc::invalid_argument;
    }

    report_.clean_start = fs::exists(dir_ + "/" + clean_file, ec);

    // A file system in memory has no journal to spare and no space to lend: no zeros ahead.
    if (struct statfs sf; ::statfs(dir_.c_str(), &sf) == 0)
        zero_ahead_useful_ = sf.f_type != 0x01021994 /* tmpfs */ && sf.f_type != 0x858458f6 /* ramfs */;

    std::int64_t recovery_point = 0;
    std::int64_t saved_log_start = 0;
    if (auto cp = read_small_file(dir_ + "/" + checkpoint_file)) {
        std::istringstream in(*cp);
        std::string magic, k1, k2;
        int version = 0;
        if (!(in >> magic >> version >> k1 >> recovery_point >> k2 >> saved_log_start) ||
            magic != "sluice-checkpoint" || version != 1 || recovery_point < 0 ||
            saved_log_start < 0) {
            report("recovery-checkpoint unreadable: checking every segment");
            recovery_point = 0;
            saved_log_start = 0;
            report_.clean_start = false;
        }
    }

    // Sort the folder's files into segments, known files and strays.
    std::vector<std::int64_t> bases;
    std::vector<std::string> orphans;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
        std::string name = entry.path().filename().string();
        if (auto b = parse_segment_name(name, ".log")) {
            bases.push_back(*b);
        } else if (parse_segment_name(name, ".index") || parse_segment_name(name, ".timeindex")) {
            orphans.push_back(name);
        } else if (ends_with(name, ".cleaned") || ends_with(name, ".tmp")) {
            ::unlink((dir_ + "/" + name).c_str());  // unfinished compaction or checkpoint write
        } else if (name != format_file && name != checkpoint_file && name != epoch_file &&
                   name != producer_file && name != clean_file) {
            report("ignoring foreign file " + name);
        }
    }
    if (ec) return errc::io_error;
    std::sort(bases.begin(), bases.end());
    for (const auto& name : orphans) {
        auto b = parse_segment_name(name, ".index");
        if (!b) b = parse_segment_name(name, ".timeindex");
        if (!std::binary_search(bases.begin(), bases.end(), *b)) {
            report("removing index without segment " + name);
            ::unlink((dir_ + "/" + name).c_str());
        }
    }

    // Segments at or after the one holding the recovery point are CRC-checked after a crash;
    // earlier ones were synced when they were closed.
    std::int64_t recover_from = INT64_MAX;
    if (!report_.clean_start) {
        recover_from = bases.empty() ? 0 : bases.front();
        for (auto b : bases)
            if (b <= recovery_point) recover_from = b;
    }

    std::int64_t expected_min = -1;
    bool cut = false;
    for (std::size_t i = 0; i < bases.size(); ++i) {
        offset base{bases[i]};
        if (cut) {
            segment(dir_, base).remove_files();
            ++report_.segments_deleted;
            continue;
        }
        std::shared_ptr<segment> seg;
        if (base.value < recover_from) {
            seg = segment::open_clean(dir_, base);
            if (!seg)
                report("indexes of " + segment_file_name(base, ".log") + " were invalid: rebuilt");
        }
        if (!seg) {
            segment_recovery r;
            seg = segment::recover(dir_, base, config_.index_interval_bytes, r);
            if (!seg) return errc::io_error;
            ++report_.segments_checked;
            report_.bytes_checked += r.valid_bytes;
            report_.zeroed_tail_bytes += r.zeroed_bytes;
            if (r.truncated) {
                report_.bytes_truncated += r.dropped_bytes;
                report("truncated " + segment_file_name(base, ".log") + " at byte " +
                       std::to_string(r.valid_bytes) + " (torn or corrupt batch)");
                cut = true;  // nothing after a bad batch is trusted
            }
        }
        if (expected_min >= 0 && base.value < expected_min) {
            report("segment " + segment_file_name(base, ".log") +
                   " overlaps the previous one: removed");
            seg->remove_files();
            ++report_.segments_deleted;
            cut = true;
            continue;
        }
        expected_min = seg->next_offset().value;
        seg->set_readable(seg->size());
        segments_[base.value] = seg;
    }
    if (segments_.empty()) {
        offset start{std::max(saved_log_start, recovery_point)};
        auto seg = segment::create(dir_, start);
        if (!seg) return errc::io_error;
        segments_[start.value] = seg;
    }
    report_.segments = segments_.size();
    active_ = segments_.rbegin()->second;
    leo_ = active_->next_offset();
    leo_published_.store(leo_.value, std::memory_order_release);
    write_pos_ = active_->size();
    pending_start_ = write_pos_;
    hw_ = leo_;
    log_start_ = offset{segments_.begin()->first};
    recovery_point_ = report_.clean_start ? leo_ : offset{std::min(recovery_point, leo_.value)};
    // A segment opened as the active one needs a creation time for roll by age.
    active_->set_created_ms(clock_());

    // Epoch cache: trust the checkpoint up to the log end, else rebuild from batch headers.
    bool epochs_ok = false;
    if (auto text = read_small_file(dir_ + "/" + epoch_file, 64 << 20))
        epochs_ok = epochs_.parse(*text);
    if (epochs_ok) {
        epochs_.truncate_from_end(leo_);
        // Batches recovered after the checkpoint may carry newer epochs.
        auto latest = epochs_.latest_epoch();
        // The checkpoint is written before the recovery point moves, so it covers the log up
        // to the recovery point: only the tail after it needs a look.
        offset from =
            epochs_.entries().empty() ? log_start_ : offset{epochs_.entries().back().start_offset};
        from = std::max(from, offset{std::min(recovery_point, leo_.value)});
        if (!report_.clean_start)
            scan_headers(from, [&](const batch_header& h) {
                if (!latest || h.partition_leader_epoch > *latest)
                    epochs_.assign(h.partition_leader_epoch, h.first_offset());
            });
    } else {
        if (leo_ > log_start_) report("leader-epoch-checkpoint missing or invalid: rebuilt");
        epochs_.clear();
        scan_headers(log_start_, [&](const batch_header& h) {
            epochs_.assign(h.partition_leader_epoch, h.first_offset());
        });
    }
    if (auto e = epochs_.latest_epoch()) epoch_ = leader_epoch{*e};

    // Producer state: snapshot plus the log after it.
    offset covered = log_start_;
    bool have_snapshot = false;
    if (auto text = read_small_file(dir_ + "/" + producer_file, 256 << 20)) {
        if (auto at = producers_.parse(*text); at && *at <= leo_) {
            covered = std::max(*at, log_start_);
            have_snapshot = true;
        } else {
            producers_.clear();
            report("producer.snapshot invalid or ahead of the log: rebuilt from the log");
        }
    }
    if (!have_snapshot) covered = log_start_;
    rebuild_producer_state(covered);

    // Until the next clean close, a crash must be detected: remove the marker durably.
    if (report_.clean_start) {
        if (::unlink((dir_ + "/" + clean_file).c_str()) != 0 || !fsync_dir(dir_))
            return errc::io_error;
    }
    if (!write_file_atomic(dir_ + "/" + epoch_file, epochs_.serialize())) return errc::io_error;
    if (!write_checkpoint()) return errc::io_error;
    return errc::ok;
}

void partition_log::scan_headers(offset from,
                                 const std::function<void(const batch_header&)>& fn) const {
    for (const auto& seg : segments()) {
        if (seg->next_offset() <= from) continue;
        batch_scanner scan(seg->fd(), seg->position_floor(from), seg->size(), false);
        while (scan.next() == batch_scanner::status::batch)
            if (scan.header().last_offset() >= from) fn(scan.header());
    }
}

void partition_log::rebuild_producer_state(offset from) {
    scan_headers(from, [&](const batch_header& h) { producers_.update(h); });
}

append_result partition_log::append(record_batch& batch, leader_epoch epoch) {
    if (failed_) return {errc::io_error};
    if (batch.size() > config_.max_batch_bytes) return {errc::record_too_large};
    if (auto e = validate_batch(batch.bytes()); e != errc::ok) return {e};
    batch_header h = batch.header();
    if (h.record_count == 0) return {errc::corrupt_message};
    auto verdict = producers_.check(h);
    if (verdict.error != errc::ok) return {verdict.error};
    if (verdict.duplicate_of)
        return {errc::ok, offset{verdict.duplicate_of->first_offset},
                offset{verdict.duplicate_of->last_offset}, true};
    batch.set_base_offset(leo_);
    batch.set_partition_leader_epoch(epoch);
    h.base_offset = leo_.value;
    h.partition_leader_epoch = epoch.value;
    return append_stamped(batch, h);
}

append_result partition_log::append_as_follower(record_batch& batch) {
    if (failed_) return {errc::io_error};
    if (auto e = validate_batch(batch.bytes()); e != errc::ok) return {e};
    batch_header h = batch.header();
    if (h.first_offset() != leo_) return {errc::invalid_offset};
    return append_stamped(batch, h);
}

append_result partition_log::append_stamped(record_batch& batch, const batch_header& h) {
    const std::int64_t now = clock_();
    bool too_big = write_pos_ + batch.size() > config_.segment_bytes;
    bool too_old = now - active_->created_ms() >= config_.segment_ms;
    bool offsets_overflow = h.last_offset().value - active_->base_offset().value >
                            static_cast<std::int64_t>(UINT32_MAX);
    if ((too_big || too_old || offsets_overflow) && write_pos_ > 0) {
        if (auto e = roll(); e != errc::ok) return {e};
    }
    active_->on_batch(h, write_pos_, config_.index_interval_bytes);
    write_pos_ += batch.size();
    pending_bytes_ += batch.size();
    pending_.push_back(std::move(batch));
    leo_ = h.last_offset().next();
    leo_published_.store(leo_.value, std::memory_order_release);
    producers_.update(h);
    epochs_.assign(h.partition_leader_epoch, h.first_offset());
    return {errc::ok, h.first_offset(), h.last_offset(), false};
}

errc partition_log::flush_writes() {
    if (pending_.empty()) return failed_ ? errc::io_error : errc::ok;
    std::vector<struct iovec> iov;
    iov.reserve(pending_.size());
    for (auto& b : pending_) iov.push_back({b.buffer().data(), b.size()});
    std::uint64_t at = pending_start_;
    std::size_t i = 0;
    bool ok = true;
    while (ok && i < iov.size()) {
        int n = static_cast<int>(std::min<std::size_t>(iov.size() - i, 1024));
        std::uint64_t total = 0;
        for (int k = 0; k < n; ++k) total += iov[i + static_cast<std::size_t>(k)].iov_len;
        ok = active_->write(&iov[i], n, total, at);
        at += total;
        i += static_cast<std::size_t>(n);
    }
    pending_.clear();
    pending_bytes_ = 0;
    pending_start_ = write_pos_;
    if (!ok) {
        failed_ = true;
        return errc::io_error;
    }
    return errc::ok;
}

errc partition_log::sync() {
    if (failed_) return errc::io_error;
    if (!active_->sync_data()) {
        failed_ = true;
        return errc::io_error;
    }
    return errc::ok;
}

void partition_log::zero_ahead() {
    if (failed_ || !zero_ahead_useful_ || config_.flush != durability::always || !pending_.empty())
        return;
    active_->zero_ahead(write_pos_, zero_ahead_bytes, config_.segment_bytes);
}

void partition_log::commit() {
    std::lock_guard lock(mu_);
    hw_ = leo_;
    for (auto it = segments_.rbegin(); it != segments_.rend(); ++it) {
        if (it->second->readable_size() == it->second->size()) break;
        it->second->set_readable(it->second->size());
    }
}

errc partition_log::roll() {
    if (auto e = flush_writes(); e != errc::ok) return e;
    // The closed segment is synced whatever the policy, so recovery can skip it; it ends at
    // its last batch (no zeros ahead), so a clean open finds its end.
    if (!active_->trim_zeroed_tail() || !active_->sync_all()) {
        failed_ = true;
        return errc::io_error;
    }
    auto next = segment::create(dir_, leo_);
    if (!next || !fsync_dir(dir_)) {
        failed_ = true;
        return errc::io_error;
    }
    next->set_created_ms(clock_());
    {
        std::lock_guard lock(mu_);
        segments_[leo_.value] = next;
    }
    active_ = next;
    write_pos_ = 0;
    pending_start_ = 0;
    recovery_point_ = leo_;
    // The snapshot and the checkpoint can only move forward: a crash before they land just
    // means more of the log is replayed.
    write_file_atomic(dir_ + "/" + producer_file, producers_.serialize(leo_));
    write_file_atomic(dir_ + "/" + epoch_file, epochs_.serialize());
    write_checkpoint();
    return errc::ok;
}

errc partition_log::truncate_to(offset o) {
    if (auto e = flush_writes(); e != errc::ok) return e;
    if (o >= leo_) return errc::ok;
    if (o < log_start_offset()) o = log_start_offset();
    std::vector<std::shared_ptr<segment>> removed;
    {
        std::lock_guard lock(mu_);
        while (segments_.size() > 1 && segments_.rbegin()->first >= o.value) {
            removed.push_back(segments_.rbegin()->second);
            segments_.erase(std::prev(segments_.end()));
        }
        active_ = segments_.rbegin()->second;
        if (hw_ > o) hw_ = o;
    }
    for (auto& s : removed) s->remove_files();
    if (!active_->truncate_to(o)) {
        failed_ = true;
        return errc::io_error;
    }
    if (!active_->sync_all()) {
        failed_ = true;
        return errc::io_error;
    }
    leo_ = active_->next_offset();
    leo_published_.store(leo_.value, std::memory_order_release);
    {
        std::lock_guard lock(mu_);
        if (hw_ > leo_) hw_ = leo_;
    }
    write_pos_ = active_->size();
    pending_start_ = write_pos_;
    if (recovery_point_ > leo_) recovery_point_ = leo_;
    epochs_.truncate_from_end(leo_);
    producers_.clear();
    rebuild_producer_state(log_start_offset());
    ::unlink((dir_ + "/" + producer_file).c_str());
    write_file_atomic(dir_ + "/" + epoch_file, epochs_.serialize());
    write_checkpoint();
    return errc::ok;
}

std::size_t partition_log::enforce_retention(std::int64_t now_ms) {
    std::vector<std::shared_ptr<segment>> doomed;
    {
        std::lock_guard lock(mu_);
        std::uint64_t total = 0;
        for (const auto& [b, s] : segments_) total += s->size();
        while (segments_.size() > 1) {
            auto& oldest = segments_.begin()->second;
            if (oldest == active_) break;
            bool expired = config_.retention_ms >= 0 &&
                           now_ms - oldest->max_timestamp() > config_.retention_ms;
            bool over =
                config_.retention_bytes >= 0 &&
                total - oldest->size() >= static_cast<std::uint64_t>(config_.retention_bytes);
            // Only data readers may already see is deleted.
            if (!(expired || over) || oldest->next_offset() > hw_) break;
            total -= oldest->size();
            doomed.push_back(oldest);
            segments_.erase(segments_.begin());
        }
        log_start_ = offset{segments_.begin()->first};
    }
    for (auto& s : doomed) s->remove_files();
    if (!doomed.empty()) write_checkpoint();
    return doomed.size();
}

errc partition_log::replace_segment(const std::shared_ptr<segment>& old,
                                    const std::string& cleaned_path) {
    offset base = old->base_offset();
    {
        std::lock_guard lock(mu_);
        auto it = segments_.find(base.value);
        if (it == segments_.end() || it->second != old || old == active_) {
            ::unlink(cleaned_path.c_str());
            return errc::invalid_argument;  // truncated or deleted meanwhile
        }
    }
    // Indexes go first: a crash before they are rebuilt leaves them missing, never stale.
    ::unlink((dir_ + "/" + segment_file_name(base, ".index")).c_str());
    ::unlink((dir_ + "/" + segment_file_name(base, ".timeindex")).c_str());
    if (::rename(cleaned_path.c_str(), old->log_path().c_str()) != 0 || !fsync_dir(dir_))
        return errc::io_error;
    segment_recovery r;
    auto fresh = segment::recover(dir_, base, config_.index_interval_bytes, r);
    if (!fresh || !fresh->sync_all()) return errc::io_error;
    fresh->set_readable(fresh->size());
    std::lock_guard lock(mu_);
    segments_[base.value] = fresh;
    return errc::ok;
}

errc partition_log::close_clean() {
    if (auto e = flush_writes(); e != errc::ok) return e;
    if (failed_) return errc::io_error;
    if (!active_->trim_zeroed_tail() || !active_->sync_all()) return errc::io_error;
    commit();
    recovery_point_ = leo_;
    if (!write_file_atomic(dir_ + "/" + producer_file, producers_.serialize(leo_)))
        return errc::io_error;
    if (!write_file_atomic(dir_ + "/" + epoch_file, epochs_.serialize())) return errc::io_error;
    if (!write_checkpoint()) return errc::io_error;
    if (!write_file_atomic(dir_ + "/" + clean_file, "sluice-clean-shutdown 1\n"))
        return errc::io_error;
    failed_ = true;  // no appends after close
    return errc::ok;
}

read_result partition_log::read(offset from, std::uint64_t max_bytes) const {
    read_result out;
    std::vector<std::shared_ptr<segment>> segs;
    {
        std::lock_guard lock(mu_);
        out.high_watermark = hw_;
        out.log_start = log_start_;
        out.next_offset = from;
        if (from < log_start_ || from > hw_) {
            out.error = errc::offset_out_of_range;
            return out;
        }
        if (from == hw_) return out;
        auto it = segments_.upper_bound(from.value);
        if (it != segments_.begin()) --it;
        for (; it != segments_.end(); ++it) segs.push_back(it->second);
    }
    for (const auto& seg : segs) {
        if (seg->next_offset() <= from) continue;
        std::uint64_t limit = seg->readable_size();
        batch_scanner scan(seg->fd(), seg->position_floor(from), limit, false);
        std::uint64_t start = 0;
        std::uint64_t end = 0;
        bool any = false;
        while (scan.next() == batch_scanner::status::batch) {
            const auto& h = scan.header();
            if (h.last_offset() < out.next_offset) continue;
            if (out.bytes > 0 && out.bytes + h.size_bytes() > max_bytes) break;
            if (!any) start = scan.position();
            any = true;
            end = scan.end_position();
            out.bytes += h.size_bytes();
            out.next_offset = h.last_offset().next();
        }
        if (any) out.ranges.push_back({seg, start, end - start});
        if (out.bytes >= max_bytes) break;
        if (out.bytes > 0 && end < limit) break;  // stopped inside this segment by max_bytes
    }
    return out;
}

errc partition_log::read_copy(offset from, std::uint64_t max_bytes, byte_buffer& out,
                              offset& next) const {
    auto r = read(from, max_bytes);
    next = from;
    out.clear();
    if (r.error != errc::ok) return r.error;
    out.resize(r.bytes);
    std::size_t at = 0;
    for (const auto& range : r.ranges) {
        if (pread_full(range.fd(), out.data() + at, range.length,
                       static_cast<off_t>(range.position)) != static_cast<ssize_t>(range.length))
            return errc::io_error;
        at += range.length;
    }
    // Only CRC-checked batches with offsets in order leave this function (the CRC does not
    // cover the base offset).
    std::size_t pos = 0;
    while (pos < out.size()) {
        auto h = parse_batch_header(out.data() + pos, out.size() - pos);
        if (!h || h->size_bytes() > out.size() - pos || h->last_offset() < next ||
            (pos > 0 && h->first_offset() < next) ||
            validate_batch(byte_span(out).subspan(pos, h->size_bytes())) != errc::ok) {
            out.resize(pos);
            return pos == 0 ? errc::corrupt_message : errc::ok;
        }
        next = h->last_offset().next();
        pos += h->size_bytes();
    }
    return errc::ok;
}

errc partition_log::for_each_record(offset from,
                                    const std::function<bool(const record&)>& fn) const {
    offset at = std::max(from, log_start_offset());
    byte_buffer bytes;
    std::vector<decoded_batch> batches;
    while (at < high_watermark()) {
        offset next;
        if (auto e = read_copy(at, 1 << 20, bytes, next); e != errc::ok) return e;
        if (bytes.empty()) break;
        batches.clear();
        if (auto e = decode_batches(bytes, batches); e != errc::ok) return e;
        for (const auto& b : batches)
            for (const auto& r : b.records)
                if (r.offset >= at.value && !fn(r)) return errc::ok;
        at = next;
    }
    return errc::ok;
}

std::optional<offset> partition_log::offset_for_timestamp(std::int64_t ts) const {
    offset hw = high_watermark();
    for (const auto& seg : segments()) {
        if (seg->max_timestamp() < ts) continue;
        batch_scanner scan(seg->fd(), seg->position_for_timestamp(ts), seg->readable_size(), true);
        while (scan.next() == batch_scanner::status::batch) {
            const auto& h = scan.header();
            if (h.max_timestamp < ts || h.first_offset() >= hw) continue;
            decoded_batch d;
            if (decode_batch(scan.bytes(), d) != errc::ok) return std::nullopt;
            for (const auto& r : d.records)
                if (r.timestamp >= ts) return offset{r.offset};
        }
    }
    return std::nullopt;
}

offset partition_log::log_start_offset() const {
    std::lock_guard lock(mu_);
    return log_start_;
}

offset partition_log::log_end_offset() const {
    return offset{leo_published_.load(std::memory_order_acquire)};
}

offset partition_log::high_watermark() const {
    std::lock_guard lock(mu_);
    return hw_;
}

std::vector<std::shared_ptr<segment>> partition_log::segments() const {
    std::lock_guard lock(mu_);
    std::vector<std::shared_ptr<segment>> v;
    v.reserve(segments_.size());
    for (const auto& [b, s] : segments_) v.push_back(s);
    return v;
}

}  // namespace sluice::store

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/log_cursor.hpp"
#include "broker/session.hpp"
#include "store/partition.hpp"

// An offline persistent session's backlog read back from the log (docs/mqtt.md, "Offline
// backlogs as cursors"): where the session stands in each logged partition (a cursor), and
// one step of its replay: records from the cursor, mapped back to publishes
// (ingest::from_record) and matched against the session's own subscriptions with their
// options, as the router does for live messages.
//
// One step reads at most `max_read_bytes` of log and returns at most `room` deliveries, so the
// caller paces the replay by the session's queue (pause when full, resume on drain). Records
// below the partition's log start (removed by retention before the session read them), older
// than the age limit, or past the count and byte limits are skipped and counted.
//
// A step is two parts so that sessions at nearby cursors share the first: reading and decoding
// a stretch of the log (read_backlog_chunk, the disk and the decode), and selecting from it
// what one session takes (select_backlog: its subscriptions, limits and room).
//
// Thread: pure functions over a partition, which may be read from any thread; call them off
// the io threads (they read the disk).
namespace sluice::broker {

// Per session; 0 means no limit. The defaults let a session fall behind as far as retention
// allows.
struct backlog_limits {
    std::uint64_t max_messages = 0;  // messages replayed at most, the rest skipped
    std::uint64_t max_bytes = 0;     // payload bytes replayed at most
    std::int64_t max_age_ms = 0;     // records older than this (by their timestamp) skipped
};

// The delivery the session's subscriptions make of `msg`, published by `publisher` (the
// record's client id): the highest granted QoS among the matching subscriptions, RETAIN kept
// when one of them has Retain As Published, every matching subscription identifier; nullopt
// when none matches (or only No Local ones do). Shared subscriptions ("$share/...") are not
// the session's own backlog and never match here, nor does a subscription made after the
// record was received (`record_ms`, the record's timestamp, before its `since_ms`).
std::optional<delivery> match_backlog(const message_ptr& msg, std::string_view publisher,
                                      std::int64_t record_ms, const backlog_subscriber& sub);

struct replay_step {
    // In log order; each with the offset of its record (the cursor goes back to the first
    // one not acknowledged if the session disconnects during the replay).
    std::vector<std::pair<std::int64_t, delivery>> deliveries;
    std::int64_t next = 0;                // where the next step starts
    bool done = false;                    // reached `until`
    std::uint64_t lost_to_retention = 0;  // records removed before the session read them
    std::uint64_t over_limits = 0;        // matching records skipped by the limits
    std::uint64_t unreadable = 0;         // records that are not an MQTT publish (or expired)
    std::uint64_t not_ingested = 0;       // replay_backlog only: records of its read that the
                                          // MQTT ingest did not write (a Kafka producer's)
    store::errc error = store::errc::ok;  // a read failed: retry from `next` later
};

// A stretch of a partition read and decoded once, for every session whose cursor lies in it
// (the reader shares it: broker/backlog_chunks.hpp). Covers the offsets [from, next): each
// record mapped back to a message, in log order; control batches leave gaps, and so do
// records the broker's MQTT ingest did not write (a Kafka producer's, even with an
// mqtt.topic header): the live path never routes those, so the replay does not deliver them
// either (ingest::written_by_mqtt_ingest; egress rules publish them, docs/ingest.md).
struct backlog_record {
    std::int64_t offset = 0;
    std::int64_t end = 0;             // the first offset after it (a whole undecodable batch)
    std::int64_t timestamp = 0;       // the record's (the age limit)
    message_ptr msg;                  // null: not an MQTT publish, expired, or undecodable
    std::string publisher;            // the record's mqtt.client_id (No Local)
    std::uint64_t unreadable = 0;     // offsets it stands for that cannot be replayed
};

struct backlog_chunk {
    std::int64_t from = 0;
    std::int64_t next = 0;
    std::vector<backlog_record> records;
    std::uint64_t bytes_read = 0;  // of log, for this chunk
    std::uint64_t not_ingested = 0;  // records skipped: not written by the MQTT ingest
    store::errc error = store::errc::ok;
    bool covers(std::int64_t at) const { return from <= at && at < next; }
};

// Reads and decodes [from, until) of `p`, at most about `max_read_bytes` of log (whole
// batches, at least one). `until` at most the high watermark; `now_ms`: the wall clock
// (message expiry counts down from the record's timestamp). `scratch`: where the log bytes
// are read to, kept by a caller that reads often (the messages copy what they keep, so a
// buffer of its own per read would be fresh pages each time while decoded chunks are kept).
backlog_chunk read_backlog_chunk(const store::partition& p, std::int64_t from, std::int64_t until,
                                 std::uint64_t max_read_bytes, std::int64_t now_ms,
                                 store::byte_buffer* scratch = nullptr);

struct replay_request {
    std::int64_t from = 0;   // the cursor
    std::int64_t until = 0;  // first offset not to read (a marker's log end, or the watermark)
    std::size_t room = 0;    // deliveries the session may take now
    std::uint64_t max_read_bytes = 1 << 20;
    std::int64_t now_ms = 0;  // wall clock (message expiry, the age limit)
};

// Where a step from `from` starts: the log start when retention removed the records below it
// (they are counted in `out.lost_to_retention`; the replay goes on from what is left).
// `out.next` is set there, and `out.done` when that is already at `until`.
std::int64_t replay_start(const store::partition& p, std::int64_t from, std::int64_t until,
                          replay_step& out);

// One step: read_backlog_chunk from the cursor, then select_backlog; what retention removed
// below the cursor is counted first (replay_start).
replay_step replay_backlog(const store::partition& p, const replay_request& req,
                           const backlog_subscriber& sub, const backlog_limits& limits,
                           backlog_usage& used);

// The per-session part of a step, over a chunk that covers `req.from` (at or above the log
// start): the records from the cursor matched against `sub`, within `room` and the limits,
// up to `req.until` or the chunk's end. `req.max_read_bytes` is not used (the chunk's read
// had it). A chunk that does not cover `req.from` yields nothing (next = from).
replay_step select_backlog(const backlog_chunk& chunk, const replay_request& req,
                           const backlog_subscriber& sub, const backlog_limits& limits,
                           backlog_usage& used);

}  // namespace sluice::broker

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/log_cursor.hpp"
#include "broker/session.hpp"
#include "mqtt/packet.hpp"
#include "store/record.hpp"

// Session state as records of the compacted internal topics (docs/ingest.md, "Internal
// topics"; docs/mqtt.md, "What survives a restart"):
//
//   __sessions       key = client id; value = one session's state (persisted_session below,
//                    a versioned binary blob); a tombstone when the session ends.
//   __session_queue  key = client id, a 0 byte, the 8-byte big-endian delivery sequence; value
//                    = one QoS 1/2 message waiting for (or inflight to) that session, as an
//                    ingest record (record_mapping.hpp: payload, mqtt.* headers, timestamp)
//                    plus "sluice.*" headers for what this subscriber's subscriptions made of
//                    it; or, once the subscriber sent PUBREC, an empty value with the header
//                    sluice.released = its packet id. A tombstone once acknowledged.
//
// Thread: pure functions.
namespace sluice::broker {

inline constexpr std::string_view sessions_topic = "__sessions";
inline constexpr std::string_view session_queue_topic = "__session_queue";

struct persisted_subscription {
    std::string filter;
    subscription_record rec;
    bool operator==(const persisted_subscription& o) const {
        return filter == o.filter && rec.options == o.rec.options &&
               rec.subscription_id == o.rec.subscription_id && rec.since_ms == o.rec.since_ms;
    }
};

struct persisted_session {
    std::uint32_t expiry = 0;           // Session Expiry Interval, seconds
    std::int64_t offline_since_ms = 0;  // wall clock; 0: a connection was attached when written
    std::int64_t producer_id = -1;      // -1: none yet
    std::int16_t producer_epoch = 0;
    std::vector<persisted_subscription> subscriptions;
    std::vector<std::uint16_t> incoming_qos2;  // inbound QoS 2 ids waiting for PUBREL
    // The will: the delayed one of an offline session (due at will_at_ms), or the will of the
    // attached connection (will_at_ms 0: its delay counts from the restart, as if the
    // connection was lost then).
    std::optional<mqtt::will_message> will;
    std::int64_t will_at_ms = 0;
    // An offline session's backlog: where it stands in each logged partition (what it has
    // not had from there is read back from the log on reconnect). Empty: none recorded
    // (written as format 1, which has no cursors).
    std::vector<log_cursor> cursors;
    bool operator==(const persisted_session&) const = default;
};

std::string encode_session(const persisted_session& s);
// nullopt when the bytes are not a session record of a version we know.
std::optional<persisted_session> decode_session(std::string_view bytes);

std::string queue_key(std::string_view client_id, std::uint64_t seq);
// The client id and sequence of a __session_queue key; nullopt when it is not one.
std::optional<std::pair<std::string, std::uint64_t>> parse_queue_key(std::string_view key);

// The record for a delivery waiting in a session (d.msg set). `now`/`now_ms` reduce the
// message expiry to what is left, so the record's timestamp counts from here.
store::record delivery_to_record(std::string_view client_id, std::uint64_t seq,
                                 const delivery& d, steady_clock::time_point now,
                                 std::int64_t now_ms);
// The record for an outbound QoS 2 message the subscriber has received (PUBREC): only its
// packet id is left, for the PUBREL.
store::record released_to_record(std::string_view client_id, std::uint64_t seq,
                                 std::uint16_t packet_id);

// A persistent session's backlog cursor in __session_queue (written with the messages a
// refill put in its queue, in the same batch): key = client id, a 0 byte, "cursor:",
// the partition, ':', the log topic; value = the next offset in decimal. The __sessions
// snapshot also carries cursors; at start the larger one wins (cursors only move forward).
std::string cursor_key(std::string_view client_id, const log_cursor& c);
store::record cursor_record(std::string_view client_id, const log_cursor& c);
// The client id and cursor (next = -1 for a tombstone) of a cursor record; nullopt when the
// key is not a cursor key.
std::optional<std::pair<std::string, log_cursor>> parse_cursor_record(const store::record& r);

// A shared group's backlog cursor (broker/share_backlog.hpp) in __session_queue: key = the
// group's "$share/<group>/<filter>", a 0 byte, "share-cursor:", the partition, ':', the log
// topic; value = the next offset in decimal; a tombstone once the group is gone. Written when
// the group's markers report and with every refill of a member from the group's backlog (in
// the same batch as the deliveries). No client id holds a 0 byte, and a client's own keys
// follow it with 8 bytes or "cursor:", so the keys never meet.
std::string share_cursor_key(std::string_view share, const log_cursor& c);
store::record share_cursor_record(std::string_view share, const log_cursor& c);
// The group and cursor (next = -1 for a tombstone) of a share cursor record; nullopt when the
// key is not one.
std::optional<std::pair<std::string, log_cursor>> parse_share_cursor_record(const store::record& r);

// A __session_queue value read back.
struct queued_entry {
    enum class kind { message, released, expired, invalid } what = kind::invalid;
    delivery d;                   // kind::message (d.msg built with `now`)
    std::uint16_t packet_id = 0;  // kind::released
};
queued_entry queued_from_record(const store::record& r, steady_clock::time_point now,
                                std::int64_t now_ms);

}  // namespace sluice::broker

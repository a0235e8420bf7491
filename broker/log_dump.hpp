#pragma once

// `sluice log-dump --data-dir DIR --topic T [--partition N]`: prints every record of a log
// topic as one JSON object per line, partition by partition, in offset order:
//
//   {"partition":0,"offset":7,"timestamp":1764254400000,"key":"a/b","value":"21.5",
//    "headers":[["mqtt.topic","a/b"],["mqtt.qos","1"],...]}
//
// key and value are null for Kafka's null; bytes that are not UTF-8 are replaced by U+FFFD
// (the dump is for people and tests, not a byte-exact export). Headers are pairs in record
// order, since names may repeat. It opens the store like the broker does (recovering it after
// a crash), so it must not run on the data directory of a running broker.
// Exit status: 0 done, 1 the store or topic cannot be read, 2 bad arguments.
// Threads: the main thread only.
namespace sluice::broker {

int log_dump_main(int argc, char** argv);

}  // namespace sluice::broker

#pragma once
// Kafka's codec 3: the records section of a batch as one standard LZ4 frame (64 KiB
// independent blocks, no checksums written; checksums present on read are verified by liblz4).

#include <cstddef>

#include "store/types.hpp"

namespace sluice::store {

// Appends the frame to out. Returns false only if liblz4 fails (out of memory).
bool lz4_compress_frame(byte_span input, byte_buffer& out);

// Decompresses one frame into out (replacing its contents). Fails on malformed input or when
// the result would exceed max_output (a guard against decompression bombs).
bool lz4_decompress_frame(byte_span input, byte_buffer& out, std::size_t max_output);

}  // namespace sluice::store

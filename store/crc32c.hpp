#pragma once
// CRC-32C (Castagnoli), the checksum of Kafka RecordBatch v2. Uses the SSE4.2 crc32
// instruction when the CPU has it (checked once at run time), a table otherwise.

#include <cstddef>
#include <cstdint>

namespace sluice::store {

// Continues a CRC: crc32c_extend(0, ...) starts one. crc32c("123456789") == 0xE3069283.
std::uint32_t crc32c_extend(std::uint32_t crc, const std::uint8_t* data, std::size_t size);
inline std::uint32_t crc32c(const std::uint8_t* data, std::size_t size) {
    return crc32c_extend(0, data, size);
}

// The table implementation, exposed so tests can check both paths agree.
std::uint32_t crc32c_extend_portable(std::uint32_t crc, const std::uint8_t* data, std::size_t size);
bool crc32c_hardware_available();

}  // namespace sluice::store

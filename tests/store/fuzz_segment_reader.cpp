// libFuzzer target for the code that reads untrusted segment bytes: the batch scanner over a
// file, batch validation, record decoding and LZ4 frames. Each input is tried as is and,
// when it is long enough, with its length and CRC fields repaired, so the fuzzer gets past
// the CRC into the record decoder.

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "store/batch_reader.hpp"
#include "store/batch_scanner.hpp"
#include "store/byte_order.hpp"
#include "store/crc32c.hpp"
#include "store/file_util.hpp"

using namespace sluice::store;

namespace {

void scan_file(const std::uint8_t* data, std::size_t size) {
    int fd = ::memfd_create("segment", MFD_CLOEXEC);
    if (fd < 0) return;
    if (pwrite_all(fd, data, size, 0)) {
        batch_scanner scan(fd, 0, size, true);
        while (scan.next() == batch_scanner::status::batch) {
            decoded_batch d;
            (void)decode_batch(scan.bytes(), d);
        }
    }
    ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    scan_file(data, size);
    std::vector<decoded_batch> out;
    (void)decode_batches(byte_span(data, size), out);
    if (size >= batch_layout::header_size && size < (64u << 20)) {
        byte_buffer fixed(data, data + size);
        store_be<std::int32_t>(fixed.data() + batch_layout::batch_length,
                               static_cast<std::int32_t>(size - 12));
        fixed[batch_layout::magic] = 2;
        store_be<std::uint32_t>(fixed.data() + batch_layout::crc, compute_batch_crc(fixed));
        decoded_batch d;
        (void)decode_batch(fixed, d);
        scan_file(fixed.data(), fixed.size());
    }
    return 0;
}

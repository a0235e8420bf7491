#include "store/lz4_frame.hpp"

#include <lz4frame.h>

#include <memory>

namespace sluice::store {

bool lz4_compress_frame(byte_span input, byte_buffer& out) {
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
    prefs.frameInfo.contentSize = 0;  // Kafka's writer leaves it out
    prefs.compressionLevel = 0;       // fast mode: the broker compresses on the hot path
    std::size_t bound = LZ4F_compressFrameBound(input.size(), &prefs);
    std::size_t start = out.size();
    out.resize(start + bound);
    std::size_t n =
        LZ4F_compressFrame(out.data() + start, bound, input.data(), input.size(), &prefs);
    if (LZ4F_isError(n)) {
        out.resize(start);
        return false;
    }
    out.resize(start + n);
    return true;
}

bool lz4_decompress_frame(byte_span input, byte_buffer& out, std::size_t max_output) {
    LZ4F_dctx* raw = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) return false;
    std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> ctx(
        raw, &LZ4F_freeDecompressionContext);
    out.clear();
    const std::uint8_t* src = input.data();
    std::size_t left = input.size();
    for (;;) {
        std::size_t chunk = 64 * 1024;
        if (out.size() + chunk > max_output) chunk = max_output - out.size();
        if (chunk == 0) return false;
        std::size_t at = out.size();
        out.resize(at + chunk);
        std::size_t dst_size = chunk;
        std::size_t src_size = left;
        std::size_t hint =
            LZ4F_decompress(ctx.get(), out.data() + at, &dst_size, src, &src_size, nullptr);
        if (LZ4F_isError(hint)) return false;
        out.resize(at + dst_size);
        src += src_size;
        left -= src_size;
        if (hint == 0) break;                              // end of frame
        if (src_size == 0 && dst_size == 0) return false;  // no progress: truncated frame
    }
    return left == 0;
}

}  // namespace sluice::store

#include "store/error.hpp"

namespace sluice::store {

const char* to_string(errc e) {
    switch (e) {
        case errc::ok:
            return "ok";
        case errc::corrupt_message:
            return "corrupt message";
        case errc::unsupported_compression:
            return "unsupported compression";
        case errc::record_too_large:
            return "record too large";
        case errc::out_of_order_sequence:
            return "out of order sequence number";
        case errc::invalid_producer_epoch:
            return "invalid producer epoch";
        case errc::offset_out_of_range:
            return "offset out of range";
        case errc::invalid_offset:
            return "invalid offset";
        case errc::io_error:
            return "i/o error";
        case errc::closed:
            return "closed";
        case errc::unknown_topic:
            return "unknown topic";
        case errc::topic_exists:
            return "topic exists";
        case errc::invalid_argument:
            return "invalid argument";
    }
    return "unknown error";
}

}  // namespace sluice::store

#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::mqtt {

// An immutable byte range that shares ownership of its storage. A decoded PUBLISH's payload is a
// view into the one buffer the decoder allocated for that packet's body, so decoding, routing
// and re-encoding a message to many subscribers never copies the payload until it is written to
// a socket buffer (and not even then if the sender uses scatter-gather writes).
//
// Threads: immutable once built; copies may be used and destroyed on any thread (the reference
// count is atomic).
class shared_bytes {
  public:
    shared_bytes() = default;

    // Takes ownership of `bytes` (one allocation for the control block and the buffer).
    explicit shared_bytes(std::vector<std::uint8_t> bytes) : size_(bytes.size()) {
        auto owner = std::make_shared<const std::vector<std::uint8_t>>(std::move(bytes));
        data_ = owner->data();
        owner_ = std::move(owner);
    }

    // Copies `bytes` into a new buffer.
    explicit shared_bytes(std::string_view bytes)
        : shared_bytes(std::vector<std::uint8_t>(bytes.begin(), bytes.end())) {}

    // A view of `size` bytes at `data`, kept alive by `owner`.
    shared_bytes(std::shared_ptr<const void> owner, const std::uint8_t* data, std::size_t size)
        : owner_(std::move(owner)), data_(data), size_(size) {}

    const std::uint8_t* data() const { return data_; }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::string_view view() const {
        return size_ == 0 ? std::string_view{}
                          : std::string_view(reinterpret_cast<const char*>(data_), size_);
    }
    std::string to_string() const { return std::string(view()); }

    // Equality compares contents, not ownership.
    friend bool operator==(const shared_bytes& a, const shared_bytes& b) {
        return a.view() == b.view();
    }

  private:
    std::shared_ptr<const void> owner_;
    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace sluice::mqtt

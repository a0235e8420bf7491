// Retained messages as the operations endpoints see them (docs/operations.md).
#include "broker/retained_store.hpp"

#include "broker/router.hpp"  // split_levels

namespace sluice::broker {

void retained_store::gather(const node& n, std::vector<message_ptr>& out) {
    if (n.msg) out.push_back(n.msg);
    for (const auto& [level, child] : n.children) gather(*child, out);
}

std::vector<message_ptr> retained_store::snapshot() const {
    std::vector<message_ptr> out;
    std::lock_guard lock(mu_);
    out.reserve(size_);
    gather(root_, out);
    return out;
}

bool retained_store::erase(std::string_view topic) {
    std::vector<std::string_view> levels;
    split_levels(topic, levels);
    std::lock_guard lock(mu_);
    const std::size_t before = size_;
    clear(root_, levels, 0);
    return size_ != before;
}

}  // namespace sluice::broker

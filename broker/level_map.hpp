#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

// A trie node's children by topic level: a short vector searched in order while there are
// few (most nodes: a handful of levels such as "devices", "status", a site name), a hash
// table once there are many (one child per device id under "devices/"). At full speed the
// hash table's lookup (hashing the level, a division by the bucket count, a pointer chase)
// was about 10 ns per level of every routed message; comparing a few short strings costs a
// fraction of that.
//
// Threads: none of its own (the router's lock guards it).
namespace sluice::broker {

template <class Node>
class level_map {
  public:
    // The child for `level`, or null.
    Node* find(std::string_view level) const {
        if (!large_) {
            for (const auto& [name, child] : small_)
                if (name == level) return child.get();
            return nullptr;
        }
        auto it = large_->find(level);
        return it == large_->end() ? nullptr : it->second.get();
    }

    // The slot for `level`, added (empty) when missing.
    std::unique_ptr<Node>& slot(std::string_view level) {
        if (!large_) {
            for (auto& [name, child] : small_)
                if (name == level) return child;
            if (small_.size() < small_max) return small_.emplace_back(std::string(level), nullptr).second;
            large_ = std::make_unique<table>();
            for (auto& [name, child] : small_) large_->emplace(std::move(name), std::move(child));
            small_.clear();
            small_.shrink_to_fit();
        }
        auto it = large_->find(level);
        if (it == large_->end()) it = large_->emplace(std::string(level), nullptr).first;
        return it->second;
    }

    // Removes `level` (no-op when missing). A large map stays a hash table.
    void erase(std::string_view level) {
        if (!large_) {
            for (auto it = small_.begin(); it != small_.end(); ++it)
                if (it->first == level) {
                    small_.erase(it);
                    return;
                }
            return;
        }
        if (auto it = large_->find(level); it != large_->end()) large_->erase(it);
    }

    bool empty() const { return large_ ? large_->empty() : small_.empty(); }
    std::size_t size() const { return large_ ? large_->size() : small_.size(); }

  private:
    static constexpr std::size_t small_max = 8;
    struct level_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    using table = std::unordered_map<std::string, std::unique_ptr<Node>, level_hash, std::equal_to<>>;
    std::vector<std::pair<std::string, std::unique_ptr<Node>>> small_;
    std::unique_ptr<table> large_;
};

}  // namespace sluice::broker

#include "ingest/rule_json.hpp"

#include <limits>

namespace sluice::ingest::detail {

bool json_object_reader::only_keys(std::initializer_list<std::string_view> allowed) {
    for (const auto& item : obj_.items()) {
        bool known = false;
        for (auto a : allowed) known = known || item.key() == a;
        if (!known) return fail(item.key(), "unknown key");
    }
    return true;
}

bool json_object_reader::has(std::string_view key) const {
    return obj_.find(std::string(key)) != obj_.end();
}

bool json_object_reader::get_string(std::string_view key, std::optional<std::string>& out) {
    auto it = obj_.find(std::string(key));
    if (it == obj_.end()) return true;
    if (!it->is_string()) return fail(key, "must be a string");
    out = it->get_ref<const std::string&>();
    return true;
}

bool json_object_reader::get_bool(std::string_view key, std::optional<bool>& out) {
    auto it = obj_.find(std::string(key));
    if (it == obj_.end()) return true;
    if (!it->is_boolean()) return fail(key, "must be true or false");
    out = it->get<bool>();
    return true;
}

bool json_object_reader::get_int(std::string_view key, std::optional<std::int64_t>& out) {
    auto it = obj_.find(std::string(key));
    if (it == obj_.end()) return true;
    if (!it->is_number_integer()) return fail(key, "must be an integer");
    if (it->is_number_unsigned() &&
        it->get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return fail(key, "out of range");
    out = it->get<std::int64_t>();
    return true;
}

bool json_object_reader::fail(std::string_view key, std::string_view message) {
    error_ = path_;
    error_ += '.';
    error_ += key;
    error_ += ": ";
    error_ += message;
    return false;
}

std::string indexed_path(std::string_view base, std::size_t index) {
    std::string out(base);
    out += '[';
    out += std::to_string(index);
    out += ']';
    return out;
}

}  // namespace sluice::ingest::detail

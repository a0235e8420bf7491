#pragma once
// Reading one rule object out of the config JSON with errors that name the key and index
// ("ingest_rules[2].partitions: must be >= 1"). Shared by the ingest and egress rule parsers.
// Never throws: every accessor checks the type before reading.
// Thread: a value used by one parse on one thread.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sluice::ingest::detail {

class json_object_reader {
  public:
    // obj must be an object; path is where it sits, e.g. "ingest_rules[2]".
    json_object_reader(const nlohmann::json& obj, std::string path)
        : obj_(obj), path_(std::move(path)) {}

    // False (error set) when the object holds a key not in `allowed`.
    bool only_keys(std::initializer_list<std::string_view> allowed);
    bool has(std::string_view key) const;

    // Absent: true, out untouched. Present with the wrong type: false, error set.
    bool get_string(std::string_view key, std::optional<std::string>& out);
    bool get_bool(std::string_view key, std::optional<bool>& out);
    bool get_int(std::string_view key, std::optional<std::int64_t>& out);

    // Sets the error "<path>.<key>: <message>" and returns false.
    bool fail(std::string_view key, std::string_view message);
    const std::string& path() const { return path_; }
    const std::string& error() const { return error_; }

  private:
    const nlohmann::json& obj_;
    std::string path_;
    std::string error_;
};

std::string indexed_path(std::string_view base, std::size_t index);

}  // namespace sluice::ingest::detail

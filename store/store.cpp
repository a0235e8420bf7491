#include "store/store.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string_view>

namespace sluice::store {
namespace fs = std::filesystem;
namespace {

constexpr const char* store_format_text = "sluice-store-format 1\n";
constexpr std::string_view deleted_suffix = ".deleted";

// A folder left by delete_topic: `<topic>~<n>.deleted`. The `~` makes it no topic's name.
bool is_deleted_dir_name(const std::string& name) {
    return name.size() > deleted_suffix.size() &&
           name.compare(name.size() - deleted_suffix.size(), deleted_suffix.size(),
                        deleted_suffix) == 0 &&
           name.find('~') != std::string::npos;
}

std::int64_t system_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

bool store::valid_topic_name(const std::string& name) {
    if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    return true;
}

std::string store::deleted_dir_name(const std::string& topic, std::uint64_t sequence) {
    // 200 characters of the name keep the folder name under NAME_MAX (255).
    return topic.substr(0, 200) + "~" + std::to_string(sequence) + std::string(deleted_suffix);
}

store::store(store_options options) : options_(std::move(options)) {
    if (!options_.clock) options_.clock = &system_ms;
    if (!options_.log)
        options_.log = [](const std::string& line) {
            std::fprintf(stderr, "store: %s\n", line.c_str());
        };
    pool_ = std::make_unique<writer_pool>(options_.writer_threads, options_.parallel_syncs,
                                          options_.sync_round_gap);
}

std::unique_ptr<store> store::open(store_options options, errc& error) {
    std::unique_ptr<store> s(new store(std::move(options)));
    try {
        error = s->load();
    } catch (
        const std::exception& ex) {  // std::filesystem iteration, allocation: report, never crash
        s->options_.log(std::string("cannot open the store: ") + ex.what());
        error = errc::io_error;
    }
    if (error != errc::ok) {
        s->close();
        return nullptr;
    }
    if (s->options_.maintenance_interval_ms > 0)
        s->maintenance_ = std::thread([p = s.get()] { p->maintenance_loop(); });
    return s;
}

store::~store() {
    close();
}

errc store::load() {
    std::error_code ec;
    fs::create_directories(options_.data_dir, ec);
    if (ec) return errc::io_error;
    std::string format_path = options_.data_dir + "/store.format";
    if (auto text = read_small_file(format_path)) {
        if (*text != store_format_text) {
            options_.log("unknown store format in " + format_path);
            return errc::invalid_argument;
        }
    } else if (!write_file_atomic(format_path, store_format_text)) {
        return errc::io_error;
    }
    for (const auto& entry : fs::directory_iterator(options_.data_dir, ec)) {
        std::string name = entry.path().filename().string();
        std::error_code type_ec;
        if (name == "store.format" || !entry.is_directory(type_ec)) continue;
        if (is_deleted_dir_name(name)) {  // a deletion interrupted by a crash: finish it
            options_.log("finishing the deletion of " + name);
            remove_deleted_dir(name);
            continue;
        }
        if (!valid_topic_name(name) || !fs::exists(entry.path() / "topic.conf")) {
            options_.log("ignoring foreign entry " + name);
            continue;
        }
        if (auto e = open_topic(name); e != errc::ok) return e;
    }
    return ec ? errc::io_error : errc::ok;
}

errc store::open_topic(const std::string& name) {
    std::string dir = options_.data_dir + "/" + name;
    auto text = read_small_file(dir + "/topic.conf");
    std::optional<log_config> config = text ? parse_log_config(*text) : std::nullopt;
    int count = 0;
    if (text) {
        auto at = text->find("\npartitions ");
        if (at != std::string::npos) count = std::atoi(text->c_str() + at + 12);
    }
    if (!config || count <= 0 || count > 100000) {
        options_.log("topic " + name + ": unreadable topic.conf, topic not opened");
        return errc::ok;
    }
    topic t{*config, {}};
    for (int i = 0; i < count; ++i) {
        errc e = errc::ok;
        auto p = partition::open(dir + "/" + std::to_string(i), *config, *pool_, options_.clock, e);
        if (!p) {
            options_.log("topic " + name + " partition " + std::to_string(i) + ": " + to_string(e));
            return e;
        }
        p->set_commit_hook(hook_);
        for (const auto& problem : p->recovery().problems)
            options_.log(name + "/" + std::to_string(i) + ": " + problem);
        t.partitions.push_back(std::move(p));
    }
    std::lock_guard lock(mu_);
    topics_[name] = std::move(t);
    return errc::ok;
}

errc store::create_topic(const std::string& name, int partitions, const log_config& config) {
    if (!valid_topic_name(name) || partitions <= 0 || partitions > 100000)
        return errc::invalid_argument;
    if (!parse_log_config(serialize(config))) return errc::invalid_argument;
    std::lock_guard admin(admin_mu_);
    {
        std::lock_guard lock(mu_);
        if (closed_) return errc::closed;
        if (topics_.count(name)) return errc::topic_exists;
    }
    std::string dir = options_.data_dir + "/" + name;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return errc::io_error;
    if (!write_file_atomic(dir + "/topic.conf",
                           serialize(config) + "partitions " + std::to_string(partitions) + "\n"))
        return errc::io_error;
    if (!fsync_dir(options_.data_dir)) return errc::io_error;
    return open_topic(name);
}

errc store::delete_topic(const std::string& name) {
    std::lock_guard admin(admin_mu_);
    std::vector<std::shared_ptr<partition>> parts;
    std::string deleted;
    {
        std::lock_guard lock(mu_);
        if (closed_) return errc::closed;
        auto it = topics_.find(name);
        if (it == topics_.end()) return errc::unknown_topic;
        parts = std::move(it->second.partitions);
        topics_.erase(it);  // get() no longer finds it; holders keep their partitions
        std::error_code ec;
        do {
            deleted = deleted_dir_name(name, ++deleted_sequence_);
        } while (fs::exists(options_.data_dir + "/" + deleted, ec));
    }
    // Queued appends finish (or fail) before the files go; later ones complete with closed.
    // A partition that failed a write reports it here: it is being deleted anyway.
    for (const auto& p : parts) p->close();
    const std::string dir = options_.data_dir + "/" + name;
    if (std::rename(dir.c_str(), (options_.data_dir + "/" + deleted).c_str()) != 0) {
        options_.log("topic " + name + ": cannot rename its folder for deletion, topic kept");
        open_topic(name);  // cleanly closed just now: back as it was
        return errc::io_error;
    }
    // Once the rename is durable the topic is gone for good: a crash before the removal
    // below ends, and open() removes the rest.
    if (!fsync_dir(options_.data_dir)) {
        options_.log("topic " + name + ": cannot sync the data folder after the rename");
        return errc::io_error;
    }
    remove_deleted_dir(deleted);
    return errc::ok;
}

void store::remove_deleted_dir(const std::string& name) {
    std::error_code ec;
    fs::remove_all(options_.data_dir + "/" + name, ec);
    if (ec) {
        options_.log("cannot remove " + name + " (removed at the next start): " + ec.message());
        return;
    }
    fsync_dir(options_.data_dir);
}

std::shared_ptr<partition> store::get(const std::string& name, int index) const {
    std::lock_guard lock(mu_);
    auto it = topics_.find(name);
    if (it == topics_.end() || index < 0 ||
        static_cast<std::size_t>(index) >= it->second.partitions.size())
        return nullptr;
    return it->second.partitions[static_cast<std::size_t>(index)];
}

int store::partition_count(const std::string& name) const {
    std::lock_guard lock(mu_);
    auto it = topics_.find(name);
    return it == topics_.end() ? 0 : static_cast<int>(it->second.partitions.size());
}

std::optional<log_config> store::topic_config(const std::string& name) const {
    std::lock_guard lock(mu_);
    auto it = topics_.find(name);
    if (it == topics_.end()) return std::nullopt;
    return it->second.config;
}

std::vector<std::string> store::topics() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> names;
    for (const auto& [name, t] : topics_) names.push_back(name);
    return names;
}

maintenance_stats store::run_maintenance(std::int64_t now_ms) {
    std::vector<std::shared_ptr<partition>> all;
    {
        std::lock_guard lock(mu_);
        if (closed_) return {};
        for (const auto& [name, t] : topics_)
            for (const auto& p : t.partitions) all.push_back(p);
    }
    maintenance_stats stats;
    for (const auto& p : all) {
        if (p->config().cleanup == cleanup_policy::compact) {
            errc e = errc::ok;
            stats.records_compacted += p->compact(now_ms, e);
            if (e != errc::ok) ++stats.errors;
        } else {
            stats.segments_deleted += p->enforce_retention(now_ms).get();
        }
    }
    return stats;
}

void store::maintenance_loop() {
    std::unique_lock lock(maintenance_mu_);
    while (!stop_) {
        maintenance_cv_.wait_for(lock, std::chrono::milliseconds(options_.maintenance_interval_ms));
        if (stop_) break;
        lock.unlock();
        run_maintenance(options_.clock());
        lock.lock();
    }
}

errc store::close() {
    {
        std::lock_guard lock(maintenance_mu_);
        stop_ = true;
    }
    maintenance_cv_.notify_all();
    if (maintenance_.joinable()) maintenance_.join();
    std::vector<std::shared_ptr<partition>> all;
    {
        std::lock_guard lock(mu_);
        if (closed_) return errc::ok;
        closed_ = true;
        for (const auto& [name, t] : topics_)
            for (const auto& p : t.partitions) all.push_back(p);
    }
    errc result = errc::ok;
    for (const auto& p : all)
        if (auto e = p->close(); e != errc::ok) result = e;
    pool_->stop();
    return result;
}

}  // namespace sluice::store

#include "broker/log_dump.hpp"

#include <charconv>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "store/store.hpp"

namespace sluice::broker {

namespace {

using json = nlohmann::ordered_json;

json bytes_or_null(const std::optional<std::string>& v) {
    return v ? json(*v) : json(nullptr);
}

int usage(const std::string& problem) {
    std::cerr << "sluice log-dump: " << problem
              << "\nusage: sluice log-dump --data-dir DIR --topic TOPIC [--partition N]\n";
    return 2;
}

}  // namespace

int log_dump_main(int argc, char** argv) {
    std::string data_dir, topic;
    std::optional<int> only;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (i + 1 >= argc) return usage("option " + std::string(arg) + " needs a value");
        const std::string value = argv[++i];
        if (arg == "--data-dir") {
            data_dir = value;
        } else if (arg == "--topic") {
            topic = value;
        } else if (arg == "--partition") {
            int n = -1;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (ec != std::errc{} || end != value.data() + value.size() || n < 0)
                return usage("bad partition \"" + value + "\"");
            only = n;
        } else {
            return usage("unknown option " + std::string(arg));
        }
    }
    if (data_dir.empty() || topic.empty()) return usage("--data-dir and --topic are required");

    store::store_options opts;
    opts.data_dir = data_dir;
    opts.writer_threads = 1;
    opts.maintenance_interval_ms = 0;
    store::errc e = store::errc::ok;
    auto s = store::store::open(opts, e);
    if (!s) {
        std::cerr << "sluice log-dump: cannot open " << data_dir << ": " << store::to_string(e)
                  << "\n";
        return 1;
    }
    const int partitions = s->partition_count(topic);
    if (partitions == 0) {
        std::cerr << "sluice log-dump: no topic " << topic << " in " << data_dir << "\n";
        return 1;
    }
    int status = 0;
    for (int p = 0; p < partitions; ++p) {
        if (only && *only != p) continue;
        auto part = s->get(topic, p);
        e = part->for_each_record(part->log_start_offset(), [&](const store::record& r) {
            json headers = json::array();
            for (const auto& h : r.headers)
                headers.push_back(json::array({h.key, bytes_or_null(h.value)}));
            json line = {{"partition", p},
                         {"offset", r.offset},
                         {"timestamp", r.timestamp},
                         {"key", bytes_or_null(r.key)},
                         {"value", bytes_or_null(r.value)},
                         {"headers", std::move(headers)}};
            std::cout << line.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
            return true;
        });
        if (e != store::errc::ok) {
            std::cerr << "sluice log-dump: " << topic << "/" << p << ": " << store::to_string(e)
                      << "\n";
            status = 1;
        }
    }
    std::cout.flush();
    s->close();
    return status;
}

}  // namespace sluice::broker

// The sluice executable: parses flags and config, then runs the broker until SIGINT/SIGTERM.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string_view>

#include "auth/passwd_command.hpp"
#include "broker/config.hpp"
#include "broker/heap_tuning.hpp"
#include "broker/log.hpp"
#include "broker/log_dump.hpp"
#include "broker/server.hpp"
#include "broker/version.hpp"

int main(int argc, char** argv) {
    using namespace sluice::broker;
    if (argc >= 2 && std::string_view(argv[1]) == "log-dump") return log_dump_main(argc - 1, argv + 1);
    if (argc >= 2 && std::string_view(argv[1]) == "passwd")
        return sluice::auth::run_passwd_command(argc - 1, argv + 1, std::cin, std::cout, std::cerr);
    config cfg;
    try {
        switch (parse_command_line(argc, argv, cfg)) {
            case cli_action::help:
                std::cout << usage_text();
                return 0;
            case cli_action::version:
                std::cout << "sluice " << version << "\n";
                return 0;
            case cli_action::run:
                break;
        }
    } catch (const config_error& e) {
        std::cerr << "sluice: " << e.message << "\n";
        return 2;
    }
    set_log_level(*parse_log_level(cfg.log_level));
    set_log_format(*parse_log_format(cfg.log_format));
    try {
        std::error_code ec;
        std::filesystem::create_directories(cfg.data_dir, ec);
        if (ec) {
            std::cerr << "sluice: data directory " << cfg.data_dir << ": " << ec.message() << "\n";
            return 1;
        }
        tune_heap();
        server srv(cfg);
        srv.set_reload_source([argc, argv] {
            config fresh;
            parse_command_line(argc, argv, fresh);
            return fresh;
        });
        srv.start();
        srv.run();
    } catch (const config_error& e) {
        std::cerr << "sluice: " << e.message << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "sluice: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

#include <cstdio>
#include <cstring>
#include <vector>

#include "loadtest/command.hpp"

namespace sluice::bench {
namespace {
std::vector<command>& commands() {
    static std::vector<command> all;  // function-local: registration order is unspecified
    return all;
}
}  // namespace

bool register_command(command c) {
    commands().push_back(c);
    return true;
}
}  // namespace sluice::bench

static void usage(FILE* out) {
    std::fprintf(out, "usage: sluice-bench <command> [options]   (sluice-bench <command> --help)\n\ncommands:\n");
    for (const auto& c : sluice::bench::commands()) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
}

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (const auto& c : sluice::bench::commands())
        if (!std::strcmp(argv[1], c.name)) return c.run(argc - 1, argv + 1);
    std::fprintf(stderr, "sluice-bench: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}

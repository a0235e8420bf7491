#pragma once
// sluice-bench is one binary with a subcommand per benchmark family (`sluice-bench mqtt ...`,
// `sluice-bench store ...`). Each family lives in its own subfolder of loadtest/ and registers
// its entry point here at static-initialisation time, so main.cpp never lists them by hand.

namespace sluice::bench {

using command_fn = int (*)(int argc, char** argv);

struct command {
    const char* name;
    const char* summary;
    command_fn run;
};

// Returns true so a registration can initialise a namespace-scope bool.
bool register_command(command c);

}  // namespace sluice::bench

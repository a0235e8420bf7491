// `sluice passwd` as the broker will run it (argv after the program name, the process's real
// standard streams), for passwd_tty_test.py to drive through a pseudo-terminal.
#include <iostream>

#include "auth/passwd_command.hpp"

int main(int argc, char** argv) {
    return sluice::auth::run_passwd_command(argc - 1, argv + 1, std::cin, std::cout, std::cerr);
}

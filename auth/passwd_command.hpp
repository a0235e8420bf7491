#pragma once

#include <iosfwd>

#include "auth/credentials.hpp"

// `sluice passwd [--delete] FILE USER`: adds a user or changes its password (or deletes it) in
// a password file, creating the file if missing. The password is read from the terminal
// without echo, twice, when `in` is std::cin and standard input is a terminal; otherwise one
// line is read from `in` (so scripts can pipe it). The file is saved atomically with mode 0600.
//
// argv[0] is the sub-command's name ("passwd"), as main() hands over the arguments after the
// program name. Returns 0 on success, 1 on failure (bad password, unreadable or invalid file,
// write error), 2 on a usage error; the reason goes to `err`.
//
// Threads: call from one thread (it reads standard input and changes terminal settings).
namespace sluice::auth {

int run_passwd_command(int argc, char** argv, std::istream& in, std::ostream& out,
                       std::ostream& err, const hash_parameters& params = {});

}  // namespace sluice::auth

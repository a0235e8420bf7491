#include "auth/passwd_command.hpp"

#include <termios.h>
#include <unistd.h>

#include <sys/stat.h>
#include <iostream>
#include <string>

#include "auth/user_file.hpp"

namespace sluice::auth {

namespace {

constexpr const char* usage = "usage: sluice passwd [--delete] FILE USER\n";

// Reads one line from the terminal with echo off; restores the settings afterwards. Echo goes
// off before the prompt is shown, so nothing typed after the prompt can be echoed.
bool read_hidden_line(std::ostream& out, const char* prompt, std::string& line) {
    termios old{};
    const bool tty = ::tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        quiet.c_lflag |= ECHONL;
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    out << prompt << std::flush;
    const bool ok = static_cast<bool>(std::getline(std::cin, line));
    if (tty) ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    return ok;
}

bool read_password(std::istream& in, std::ostream& out, std::ostream& err, std::string& password) {
    if (&in == &std::cin && ::isatty(STDIN_FILENO) == 1) {
        std::string again;
        if (!read_hidden_line(out, "Password: ", password) ||
            !read_hidden_line(out, "Again: ", again)) {
            err << "sluice passwd: no password read\n";
            return false;
        }
        if (password != again) {
            err << "sluice passwd: the passwords differ\n";
            return false;
        }
        return true;
    }
    if (!std::getline(in, password)) {
        err << "sluice passwd: no password on standard input\n";
        return false;
    }
    if (!password.empty() && password.back() == '\r') password.pop_back();
    return true;
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

int run_passwd_command(int argc, char** argv, std::istream& in, std::ostream& out,
                       std::ostream& err, const hash_parameters& params) {
    bool remove = false;
    std::string path;
    std::string user;
    int positional = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--delete" || arg == "-d") {
            remove = true;
        } else if (arg == "--help" || arg == "-h") {
            out << usage;
            return 0;
        } else if (arg.starts_with("-") && arg.size() > 1) {
            err << "sluice passwd: unknown option " << arg << "\n" << usage;
            return 2;
        } else if (positional == 0) {
            path = arg;
            ++positional;
        } else if (positional == 1) {
            user = arg;
            ++positional;
        } else {
            err << "sluice passwd: too many arguments\n" << usage;
            return 2;
        }
    }
    if (positional != 2) {
        err << usage;
        return 2;
    }
    if (!valid_username(user)) {
        err << "sluice passwd: invalid user name '" << user
            << "' (1 to 128 printable ASCII characters, no ':', not starting with '#')\n";
        return 2;
    }

    user_file file;
    if (file_exists(path)) {
        user_file_result loaded = load_user_file(path);
        if (!loaded.file) {
            err << "sluice passwd: " << loaded.error << "\n";
            return 1;
        }
        file = std::move(*loaded.file);
    } else if (remove) {
        err << "sluice passwd: " << path << " does not exist\n";
        return 1;
    }

    if (remove) {
        if (!file.remove(user)) {
            err << "sluice passwd: no user '" << user << "' in " << path << "\n";
            return 1;
        }
    } else {
        std::string password;
        if (!read_password(in, out, err, password)) return 1;
        if (!valid_password(password)) {
            err << "sluice passwd: the password must be 1 to 1024 printable ASCII characters "
                   "or spaces\n";
            return 1;
        }
        file.set_password(user, password, params);
    }

    std::string error;
    if (!save_user_file(path, file, error)) {
        err << "sluice passwd: " << error << "\n";
        return 1;
    }
    out << (remove ? "deleted user " : "set the password of user ") << user << " in " << path
        << "\n";
    return 0;
}

}  // namespace sluice::auth

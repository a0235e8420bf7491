"""`sluice passwd` on a terminal: the password is asked twice without echo, a mismatch is
refused, and the file written verifies. Runs the auth_passwd_main wrapper (the same call the
broker's `passwd` sub-command makes) under a pseudo-terminal.

Usage: passwd_tty_test.py PATH-TO-auth_passwd_main PATH-TO-auth_scram_peer
"""
import os
import pty
import select
import subprocess
import sys
import tempfile


def run_on_tty(argv, typed_lines):
    """Runs argv with a pty as stdin/stdout, types each line when a prompt appears, and
    returns (exit code, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(argv[0], argv)
    shown = b""
    pending = list(typed_lines)
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            os.kill(pid, 9)
            raise RuntimeError("no output from passwd within 60 s: " + repr(shown))
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
        while pending and shown.count(b": ") > len(typed_lines) - len(pending):
            os.write(fd, pending.pop(0).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def main():
    passwd, peer = sys.argv[1], sys.argv[2]
    failures = 0

    def check(ok, what):
        nonlocal failures
        print(("ok" if ok else "FAILED") + " - " + what)
        failures += 0 if ok else 1

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "users")
        code, shown = run_on_tty([passwd, "passwd", path, "alice"], ["s3cret pw", "s3cret pw"])
        check(code == 0, "exit 0 after the password was typed twice (%d: %r)" % (code, shown))
        check("Password: " in shown and "Again: " in shown, "both prompts shown")
        check("s3cret" not in shown, "the password is not echoed")
        check(oct(os.stat(path).st_mode & 0o777) == "0o600", "the file has mode 0600")

        # The file verifies: a SCRAM login with the password works, a wrong one does not.
        for password, expect in (("s3cret pw", 0), ("s3cret", 2)):
            peer_run = subprocess.run([peer, "verify", path, "alice", password])
            check(peer_run.returncode == expect, "password check of %r" % password)

        code, shown = run_on_tty([passwd, "passwd", path, "alice"], ["one", "two"])
        check(code == 1 and "the passwords differ" in shown, "a mismatch is refused")
        peer_run = subprocess.run([peer, "verify", path, "alice", "s3cret pw"])
        check(peer_run.returncode == 0, "a refused change leaves the old password")

    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

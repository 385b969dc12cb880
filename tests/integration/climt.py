"""Drive the C client's interactive shell `cli_mt` (Debian package zookeeper-bin).

cli_mt is asynchronous: each command's completion is printed when the reply arrives, and a
command typed before the session is established fails with rc -116 (ZCLOSING) on EOF. So the
driver sends one command at a time and waits (bounded) for the output line that completes it.
Output (stdout and stderr merged) is collected by a reader thread.
"""

import os
import re
import shutil
import signal
import subprocess
import threading
import time

CLI_MT = "/usr/lib/zookeeper/bin/cli_mt"


def unavailable_reason():
    if not os.access(CLI_MT, os.X_OK):
        return f"{CLI_MT} not found (Debian package zookeeper-bin)"
    return None


class CliMt:
    def __init__(self, hosts, extra_args=()):
        cmd = [CLI_MT, *extra_args, hosts]
        if shutil.which("stdbuf"):
            cmd = ["stdbuf", "-oL", "-eL", *cmd]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.lines = []
        self.cond = threading.Condition()
        self.eof = False
        self.reader = threading.Thread(target=self._read, daemon=True, name="cli_mt-reader")
        self.reader.start()

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def mark(self):
        with self.cond:
            return len(self.lines)

    def wait_for(self, pattern, timeout=10.0, start=0):
        """First line at index >= start matching regex `pattern`: (index, match).
        AssertionError with the whole transcript if it does not appear within `timeout`."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            i = start
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    if m:
                        return i, m
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    raise AssertionError(
                        f"cli_mt: no line matching {pattern!r} within {timeout}s "
                        f"(eof={self.eof}); output so far:\n" + "\n".join(self.lines))
                self.cond.wait(left)

    def send(self, command):
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()

    def run(self, command, done_pattern, timeout=10.0):
        """Send a command and wait for the line matching `done_pattern` printed after it.
        Returns (index, match)."""
        start = self.mark()
        self.send(command)
        return self.wait_for(done_pattern, timeout, start)

    def output(self, start=0, end=None):
        with self.cond:
            return self.lines[start:end]

    def quit(self, timeout=10.0):
        """Send `quit` and wait for the process to exit; returns its exit code."""
        try:
            self.send("quit")
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("cli_mt did not exit after quit")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.quit(5)
            except AssertionError:
                pass
        self.kill()
        self.reader.join(5)

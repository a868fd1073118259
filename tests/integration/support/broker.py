"""Starts and stops a real geomirror-broker process for integration tests.

The broker listens on 127.0.0.1 port 0 (a free port picked at run time) and
reports the bound port in its ready log line, which this harness waits for.
Every broker gets its own temporary data dir unless one is given (restarts
reuse the data dir and, when possible, the port).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

READY = re.compile(r"geomirror-broker ready: listening on [^:]+:(\d+)")


def broker_binary():
    path = os.environ.get("GEOMIRROR_BROKER")
    if not path or not os.path.exists(path):
        raise RuntimeError("set GEOMIRROR_BROKER to the geomirror-broker binary (ctest does this)")
    return path


class Broker:
    def __init__(self, data_dir=None, config=None, cluster_id="test-cluster", log_level="info", extra_args=(),
                 env=None):
        self._own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="geomirror-test-")
        self.config = config or {}
        self.cluster_id = cluster_id
        self.log_level = log_level
        self.extra_args = list(extra_args)
        self.env = dict(env or {})  # added to the broker's environment
        self.port = 0
        self.proc = None
        self.log_lines = []
        self._log_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------
    def command(self, port=0):
        cmd = [broker_binary(), "--listen", f"127.0.0.1:{port}", "--data-dir", self.data_dir,
               "--cluster-id", self.cluster_id, "--log-level", self.log_level]
        if self.config:
            # Next to the data dir, which need not exist yet.
            path = os.path.join(os.path.dirname(os.path.abspath(self.data_dir)),
                                os.path.basename(self.data_dir) + ".properties")
            with open(path, "w") as f:
                for k, v in self.config.items():
                    f.write(f"{k}={v}\n")
            cmd += ["--config", path]
        return cmd + self.extra_args

    def start(self, timeout=30, port=None):
        want = self.port if port is None else port
        env = dict(os.environ, **self.env) if self.env else None
        self.proc = subprocess.Popen(self.command(want), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, bufsize=1, env=env)
        ready = threading.Event()

        def drain(proc):
            for line in proc.stderr:
                with self._log_lock:
                    self.log_lines.append(line.rstrip("\n"))
                m = READY.search(line)
                if m:
                    self.port = int(m.group(1))
                    ready.set()

        threading.Thread(target=drain, args=(self.proc,), daemon=True).start()
        deadline = time.time() + timeout
        while not ready.wait(0.05):
            if self.proc.poll() is not None:
                raise RuntimeError("broker exited with %s before it was ready:\n%s"
                                   % (self.proc.returncode, "\n".join(self.log_lines[-30:])))
            if time.time() > deadline:
                self.proc.kill()
                raise RuntimeError("broker not ready after %ss:\n%s" % (timeout, "\n".join(self.log_lines[-30:])))
        return self

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        return code

    def kill9(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def restart(self, timeout=30):
        self.stop()
        return self.start(timeout)

    def cleanup(self):
        self.kill9()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- helpers -----------------------------------------------------------
    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def logs(self):
        with self._log_lock:
            return list(self.log_lines)

    def wait_for_log(self, pattern, timeout=10):
        regex = re.compile(pattern)
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.logs():
                if regex.search(line):
                    return line
            time.sleep(0.05)
        raise AssertionError("no log line matching %r within %ss; last lines:\n%s"
                             % (pattern, timeout, "\n".join(self.logs()[-20:])))

    def partition_dir(self, topic, partition):
        return os.path.join(self.data_dir, f"{topic}-{partition}")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

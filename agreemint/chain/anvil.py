"""Running the anvil binary from node_modules: a free loopback port, optional persistent state."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
from pathlib import Path
from types import TracebackType

from agreemint.chain.errors import ChainConfigError
from agreemint.chain.paths import ANVIL_BINARY

# anvil's first dev account (mnemonic "test test ... junk"): public knowledge, local use only.
ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
_LISTENING = re.compile(r"Listening on ([\d.]+):(\d+)")


class AnvilNode:
    """An anvil child process; `url` is set once it listens. Use as a context manager."""

    def __init__(
        self,
        state_file: Path | None = None,
        state_interval_seconds: int = 30,
        extra_args: tuple[str, ...] = (),
        binary: Path = ANVIL_BINARY,
    ) -> None:
        self.state_file = state_file
        self.state_interval_seconds = state_interval_seconds
        self.extra_args = extra_args
        self.binary = binary
        self.url = ""
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> str:
        """Spawn anvil on 127.0.0.1 with an OS-chosen port; returns the HTTP URL."""
        if not self.binary.exists():
            raise ChainConfigError(f"anvil not found at {self.binary}; run `npm ci` (make node)")
        # --port 0 picks a free port; the chosen one is only printed on stdout, so no --quiet.
        args = [str(self.binary), "--host", "127.0.0.1", "--port", "0", *self.extra_args]
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            args += [
                "--state",
                str(self.state_file),
                "--state-interval",
                str(self.state_interval_seconds),
            ]
        self._proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert self._proc.stdout is not None
        seen = []
        for line in self._proc.stdout:
            seen.append(line)
            match = _LISTENING.search(line)
            if match:
                self.url = f"http://{match.group(1)}:{match.group(2)}"
                break
        else:
            self._proc.wait(5)
            raise ChainConfigError("anvil exited before listening:\n" + "".join(seen[-20:]))
        # Keep draining stdout: a full pipe would block anvil.
        threading.Thread(target=self._drain, daemon=True).start()
        return self.url

    def _drain(self) -> None:
        proc = self._proc
        if proc is not None and proc.stdout is not None:
            for _ in proc.stdout:
                pass

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (anvil writes its --state file on it), then SIGKILL if it hangs."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def __enter__(self) -> AnvilNode:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""fnbox python runtime: import the handler, wait for one event on stdin, call it, print the result.

The sandbox is checkpointed while this waits for stdin (after the import), so every invocation
restored from the image starts here with the handler's module already loaded. Protocol:
  stdin   the event, JSON (empty input means {})
  stdout  the handler's return value as JSON; on an exception
          {"errorMessage", "errorType", "stackTrace"} and exit status 1
  stderr  the function's log
Import errors happen before the checkpoint: fnbox checkpoint reports them.
"""
import importlib
import json
import os
import random
import sys
import time
import traceback
import uuid


def _finish(code):
    # One invocation per sandbox, and the sandbox is discarded after it: skip the interpreter's
    # shutdown (module teardown, garbage collection), which costs more than the handler did.
    # As on Lambda, where the runtime is frozen rather than exited after an invocation, atexit
    # handlers do not run; close files your handler writes.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _fail(kind, exc, code):
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    out = {"errorMessage": str(exc), "errorType": kind, "stackTrace": [l.rstrip("\n") for l in tb]}
    sys.stdout.write(json.dumps(out) + "\n")
    _finish(code)


class Context:
    """The subset of the AWS Lambda context object handlers commonly use."""

    def __init__(self, deadline):
        self.function_name = os.environ.get("FNBOX_FUNCTION_NAME", "function")
        self.function_version = "$LATEST"
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = "arn:fnbox:function:" + self.function_name
        self.log_group_name = "/fnbox/" + self.function_name
        self.log_stream_name = self.aws_request_id
        self._deadline = deadline

    @property
    def memory_limit_in_mb(self):
        # The sandbox's memory limit as this invocation runs: MemTotal of its /proc/meminfo,
        # which fnbox sets to the restore's --memory (fnbox serve: the invocation's memory_mb),
        # the host's memory when no limit is set. Read when asked: the image, and with it the
        # environment, was made before any invocation's limit was known.
        try:
            with open("/proc/meminfo", "rb") as f:
                for line in f:
                    if line.startswith(b"MemTotal:"):
                        return int(line.split()[1]) // 1024
        except (OSError, ValueError, IndexError):
            pass
        return int(os.environ.get("FNBOX_MEMORY_MB", "0") or 0)

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main():
    spec = sys.argv[1] if len(sys.argv) > 1 else "main.handler"
    module_name, _, func_name = spec.rpartition(".")
    if not module_name or not func_name:
        sys.stderr.write("fnbox python: handler must be module.function, got %r\n" % spec)
        sys.exit(2)
    # /code in the sandbox; FNBOX_CODE_DIR lets the benchmark run the same bootstrap natively.
    sys.path.insert(0, os.environ.get("FNBOX_CODE_DIR", "/code"))
    try:
        module = importlib.import_module(module_name)
        handler = getattr(module, func_name)
    except Exception as exc:  # reported by fnbox checkpoint (it happens before the ready point)
        sys.stderr.write("fnbox python: cannot import handler %s: %s: %s\n"
                         % (spec, type(exc).__name__, exc))
        traceback.print_exc()
        sys.exit(3)
    if not callable(handler):
        sys.stderr.write("fnbox python: %s is not callable\n" % spec)
        sys.exit(3)

    # ---- the ready point: the checkpoint is taken while this read waits ----
    raw = sys.stdin.buffer.read()

    # Restored clones share the image's PRNG state: reseed from fresh host randomness.
    random.seed()
    timeout_ms = int(os.environ.get("FNBOX_TIMEOUT_MS", "3000") or 3000)
    context = Context(time.monotonic() + timeout_ms / 1000.0)
    try:
        event = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        _fail("Runtime.UnmarshalError", exc, 1)
    try:
        result = handler(event, context)
        body = json.dumps(result)
    except Exception as exc:
        _fail(type(exc).__name__, exc, 1)
    sys.stdout.write(body + "\n")
    _finish(0)


if __name__ == "__main__":
    main()

"""A small stand-in for the noukai API, for the noukai adapter's tests: stdlib only.

It serves the endpoints the SDK's run proxy calls, on 127.0.0.1 with a port the OS
picks, from a thread that ``NoukaiServer.close()`` (or leaving ``with``) stops:

- ``POST /api/v1/seq/{org}/{project}/{slug}/execute``: "runs" a registered flow
  (a list of ``StepSpec``) and answers like noukai's ``ExecuteResult``;
- ``GET  .../runs/{id}/trace``: ``Trace`` (``flowRun`` + the LATEST attempt per step);
- ``GET  .../runs/{id}/steps/{step}/trace?attempt=all|N[&loop_index=i]``: ``StepAttempts``
  or one ``StepTrace``;
- ``GET  .../runs/{id}/trace/stream``: the run's events as SSE frames
  (``event: <type>\\ndata: <json>\\n\\n``), then the connection closes.

Every body is camelCase, as the real server's. What really varies between two runs
of a real flow varies here too: execution ids (uuid4), timestamps, durations, flow
ids. Input/output snapshots are only in traces of runs executed with ``trace=True``,
and of failed attempts, as the noukai docs say. Requests without a ``Bearer nk_...``
key get 401. Nothing here imports noukai; ``connect()`` points an SDK client here.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_PREFIX = "/api/v1"
RATE_LIMITED = {"type": "RateLimitError", "message": "upstream model rate limited (429)", "retryable": True}


@dataclass
class StepSpec:
    """One step of a flow, as the stand-in server runs it.

    ``run(state)`` gives the step's output from the flow state (the message, the
    parameters and every earlier step's output under its id). The first
    ``failures`` attempts fail with ``error``; ``fail=True`` fails every one of the
    ``max_attempts`` attempts, which fails the run and skips the later steps.
    ``loop_over`` names a list in the state: the step then runs once per item
    (``loop_index`` 0, 1, ...) with ``state["item"]`` set, and its output is the list.
    ``inputs`` names the state entries the step's input snapshot shows.
    """

    step_id: str
    run: Callable[[dict[str, Any]], Any]
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: str | None = None
    failures: int = 0
    fail: bool = False
    max_attempts: int = 3
    error: dict[str, Any] = field(default_factory=lambda: dict(RATE_LIMITED))
    loop_over: str | None = None
    inputs: tuple[str, ...] = ("message",)


@dataclass
class _Run:
    execution_id: str
    flow_id: str
    trace: bool
    status: str = "running"
    attempts: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    result: Any = None


class _Clock:
    """Wall-clock-like timestamps with random durations: volatile, like the real ones."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.timezone.utc)

    def tick(self) -> tuple[str, str, int]:
        start = self.now
        ms = random.randint(3, 900)
        self.now = start + dt.timedelta(milliseconds=ms + random.randint(0, 5))
        return _iso(start), _iso(start + dt.timedelta(milliseconds=ms)), ms


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


class NoukaiServer:
    """The stand-in server: ``with NoukaiServer() as server: ... server.base_url``."""

    def __init__(self, *, snapshot_limit: int = 4096) -> None:
        self.flows: dict[tuple[str, str, str], list[StepSpec]] = {}
        self.flow_ids: dict[tuple[str, str, str], str] = {}
        self.runs: dict[str, _Run] = {}
        self.requests: list[tuple[str, str]] = []
        self.snapshot_limit = snapshot_limit
        self.lose_runs = False  # True: every run endpoint answers 404, as for a run the server lost
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="noukai-stand-in", daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{API_PREFIX}/"

    def connect(self, client: Any) -> Any:
        """Point a ``noukai_sdk.Noukai`` at this server (the SDK takes no base URL) and return it.

        The SDK passes its auth headers on every request, so swapping the httpx
        client its transport holds is enough; the one it made is closed first.
        """
        import httpx

        transport = client._transport
        transport._httpx_client.close()
        transport._httpx_client = httpx.Client(base_url=self.base_url, timeout=10)
        return client

    async def connect_async(self, client: Any) -> Any:
        """``connect`` for a ``noukai_sdk.AsyncNoukai``."""
        import httpx

        transport = client._transport
        await transport._httpx_client.aclose()
        transport._httpx_client = httpx.AsyncClient(base_url=self.base_url, timeout=10)
        return client

    def add_flow(self, path: str, steps: list[StepSpec]) -> None:
        """Register (or replace) the flow ``"org/project/slug"``."""
        org, project, slug = path.split("/")
        self.flows[(org, project, slug)] = steps
        self.flow_ids.setdefault((org, project, slug), str(uuid.uuid4()))

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> NoukaiServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the flow engine ----------------------------------------------------

    def execute(self, key: tuple[str, str, str], body: dict[str, Any]) -> _Run:
        steps = self.flows[key]
        run = _Run(execution_id=str(uuid.uuid4()), flow_id=self.flow_ids[key], trace=bool(body.get("trace")))
        state: dict[str, Any] = {"message": body.get("message"), **(body.get("parameters") or {})}
        clock = _Clock()
        run_start = clock.now
        run.events.append(
            ("run_started", {"executionId": run.execution_id, "flowId": run.flow_id, "stepCount": len(steps)})
        )
        failed = False
        for index, spec in enumerate(steps):
            if failed:
                start, _, _ = clock.tick()
                run.attempts.append(
                    self._attempt(spec, attempt=1, loop_index=None, status="skipped", start=start, end=None, ms=None)
                )
                continue
            items = state.get(spec.loop_over, []) if spec.loop_over else [None]
            outputs = []
            for loop_index, item in enumerate(items):
                step_state = {**state, "item": item} if spec.loop_over else state
                ok, output = self._run_step(
                    run, clock, spec, index=index, loop_index=loop_index if spec.loop_over else None, state=step_state
                )
                if not ok:
                    failed = True
                    run.result = {"error": spec.error, "stepId": spec.step_id}
                    break
                outputs.append(output)
            if not failed:
                state[spec.step_id] = outputs if spec.loop_over else outputs[0]
                run.result = state[spec.step_id]
        run.status = "failed" if failed else "completed"
        total_cost = sum(float(a["costUsd"]) for a in run.attempts if a.get("costUsd"))
        run.summary = {
            "status": run.status,
            "startedAt": _iso(run_start),
            "completedAt": _iso(clock.now),
            "durationMs": int((clock.now - run_start).total_seconds() * 1000),
            "totalCostUsd": f"{total_cost:.6f}",
        }
        run.events.append(
            ("flow_completed", {"executionId": run.execution_id, "result": run.result, "summary": run.summary})
        )
        with self._lock:
            self.runs[run.execution_id] = run
        return run

    def _run_step(
        self, run: _Run, clock: _Clock, spec: StepSpec, *, index: int, loop_index: int | None, state: dict[str, Any]
    ) -> tuple[bool, Any]:
        attempts = spec.max_attempts if spec.fail else spec.failures + 1
        for attempt in range(1, attempts + 1):
            start, end, ms = clock.tick()
            step_input = {k: state.get(k) for k in (*spec.inputs, *(["item"] if spec.loop_over else []))}
            base = {"executionId": run.execution_id, "stepId": spec.step_id, "name": spec.step_id.replace("_", " ")}
            run.events.append(("step_started", {**base, "stepIndex": index, "loopIndex": loop_index}))
            run.events.append(("step_input", {**base, "inputData": step_input}))
            if spec.fail or attempt <= spec.failures:
                record = self._attempt(
                    spec,
                    attempt=attempt,
                    loop_index=loop_index,
                    status="failed",
                    start=start,
                    end=end,
                    ms=ms,
                    step_input=step_input,
                )
                run.attempts.append(record)
                run.events.append(("step_error", {**base, "error": spec.error}))
                continue
            output = spec.run(state)
            record = self._attempt(
                spec,
                attempt=attempt,
                loop_index=loop_index,
                status="completed",
                start=start,
                end=end,
                ms=ms,
                step_input=step_input,
                output=output,
            )
            run.attempts.append(record)
            run.events.append(("step_progress", {**base, "percent": 100}))  # unknown to the SDK: dropped
            run.events.append(
                (
                    "step_completed",
                    {
                        **base,
                        "output": output,
                        "durationMs": ms,
                        "tokens": record.get("tokens"),
                        "costUsd": record.get("costUsd"),
                    },
                )
            )
            return True, output
        return False, None

    def _attempt(
        self,
        spec: StepSpec,
        *,
        attempt: int,
        loop_index: int | None,
        status: str,
        start: str,
        end: str | None,
        ms: int | None,
        step_input: Any = None,
        output: Any = None,
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "stepId": spec.step_id,
            "attempt": attempt,
            "loopIndex": loop_index,
            "status": status,
            "startedAt": start if status != "skipped" else None,
            "completedAt": end,
            "durationMs": ms,
        }
        if status == "skipped":
            return record
        record["modelUsed"] = spec.model
        if spec.model:
            completion = spec.completion_tokens if status == "completed" else 0
            record["tokens"] = {
                "prompt": spec.prompt_tokens,
                "completion": completion,
                "total": spec.prompt_tokens + completion,
            }
        record["costUsd"] = spec.cost_usd if status == "completed" else ("0.000000" if spec.model else None)
        record["_input"] = step_input
        record["_output"] = output
        record["errorContext"] = dict(spec.error) if status == "failed" else None
        return record

    # -- wire shapes --------------------------------------------------------

    def step_trace(self, run: _Run, record: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in record.items() if not k.startswith("_")}
        if record["status"] == "skipped":
            return out
        captured = run.trace or record["status"] == "failed"
        for name, value in (("input", record["_input"]), ("output", record["_output"])):
            out[f"{name}SizeBytes"] = _size(value)
            if captured and value is not None:
                text = json.dumps(value, separators=(",", ":"))
                if len(text) > self.snapshot_limit:
                    out[f"{name}Context"] = {"preview": text[: self.snapshot_limit]}
                    out["truncated"] = True
                else:
                    out[f"{name}Context"] = value if isinstance(value, dict) else {"value": value}
        out.setdefault("truncated", False)
        return out

    def trace(self, run: _Run) -> dict[str, Any]:
        latest: dict[tuple[str, int | None], dict[str, Any]] = {}
        for record in run.attempts:  # execution order; a later attempt replaces, in place
            latest[(record["stepId"], record["loopIndex"])] = record
        return {
            "flowRun": {
                "id": run.execution_id,
                "flowId": run.flow_id,
                "status": run.status,
                "triggerType": "api",
                "startedAt": run.summary["startedAt"],
                "completedAt": run.summary["completedAt"],
                "durationMs": run.summary["durationMs"],
                "stepCount": len({r["stepId"] for r in run.attempts}),
            },
            "steps": [self.step_trace(run, r) for r in latest.values()],
        }

    def sse(self, run: _Run) -> Iterator[bytes]:
        yield b": replaying history\n\n"
        for kind, data in run.events:
            yield f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


def _handler(server: NoukaiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a stuck client cannot hold a thread for long
        server_version = "noukai-stand-in/1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Request-ID", f"req_{uuid.uuid4().hex[:12]}")
            self.end_headers()
            self.wfile.write(data)

        def _not_found(self, what: str) -> None:
            self._reply(404, {"detail": {"code": "RUN_NOT_FOUND", "message": f"{what} not found"}})

        def _route(self, method: str) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            server.requests.append((method, self.path))
            if not self.headers.get("Authorization", "").startswith("Bearer nk_"):
                self._reply(401, {"detail": {"code": "UNAUTHORIZED", "message": "invalid API key"}})
                return
            parts = url.path.removeprefix(API_PREFIX).strip("/").split("/")
            if len(parts) < 5 or parts[0] != "seq":
                self._not_found(url.path)
                return
            key = (parts[1], parts[2], parts[3])
            if key not in server.flows:
                self._reply(404, {"detail": {"code": "FLOW_NOT_FOUND", "message": "flow not found"}})
                return
            rest = parts[4:]
            if method == "POST" and rest == ["execute"]:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                run = server.execute(key, body)
                self._reply(
                    200,
                    {
                        "status": run.status,
                        "result": run.result,
                        "flowId": run.flow_id,
                        "blockCount": len(server.flows[key]),
                        "executionId": run.execution_id,
                    },
                )
                return
            if method != "GET" or len(rest) < 3 or rest[0] != "runs":
                self._not_found(url.path)
                return
            found: _Run | None = None if server.lose_runs else server.runs.get(rest[1])
            if found is None:
                self._not_found(f"run {rest[1]}")
                return
            run = found
            if rest[2:] == ["trace"]:
                self._reply(200, server.trace(run))
            elif rest[2:] == ["trace", "stream"]:
                self._stream(run)
            elif len(rest) == 5 and rest[2] == "steps" and rest[4] == "trace":
                self._step(run, rest[3], query)
            else:
                self._not_found(url.path)

        def _step(self, run: _Run, step_id: str, query: dict[str, str]) -> None:
            records = [r for r in run.attempts if r["stepId"] == step_id]
            if "loop_index" in query:
                records = [r for r in records if r["loopIndex"] == int(query["loop_index"])]
            if not records:
                self._not_found(f"step {step_id}")
                return
            wanted = query.get("attempt", "latest")
            if wanted == "all":
                self._reply(200, {"stepId": step_id, "attempts": [server.step_trace(run, r) for r in records]})
                return
            if wanted != "latest":
                records = [r for r in records if r["attempt"] == int(wanted)]
                if not records:
                    self._not_found(f"attempt {wanted} of {step_id}")
                    return
            self._reply(200, server.step_trace(run, records[-1]))

        def _stream(self, run: _Run) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            for frame in server.sse(run):
                # Split frames across writes: the SDK must reassemble them.
                middle = len(frame) // 2
                self.wfile.write(frame[:middle])
                self.wfile.flush()
                self.wfile.write(frame[middle:])
                self.wfile.flush()

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

    return Handler

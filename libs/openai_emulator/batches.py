"""The Batch API lifecycle, advanced lazily on each read.

A batch spends `batch_step_s` in each of validating, in_progress and finalizing. Items are
answered while the batch is in progress, in proportion to the time spent there, so a cancel
in the middle keeps only what was finished. The outcome faults (fail, expire) are drawn once,
when validation ends, from the seeded fault injector.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from openai_emulator import brain
from openai_emulator.config import EmulatorConfig
from openai_emulator.errors import ApiError, server_error
from openai_emulator.faults import FaultInjector
from openai_emulator.stats import Stats
from openai_emulator.store import BatchState, ItemResult, Store

BATCH_ENDPOINTS = ("/v1/chat/completions", "/v1/embeddings")
COMPLETION_WINDOW_S = 24 * 3600
TERMINAL = ("completed", "failed", "expired", "cancelled")
_YIELD_EVERY = 50


def parse_batch_file(content: bytes, max_lines: int) -> list[dict[str, Any]]:
    """Validate a batch input file the way the upload endpoint does; return its requests."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "The file is not valid UTF-8 text.", param="file") from exc
    requests: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        if len(requests) >= max_lines:
            raise ApiError(
                400,
                f"The batch input file has more than the maximum of {max_lines} requests.",
                param="file",
                code="too_many_requests",
            )
        try:
            line = json.loads(raw)
        except ValueError as exc:
            raise _line_error(number, "is not valid JSON") from exc
        if not isinstance(line, dict):
            raise _line_error(number, "is not a JSON object")
        custom_id = line.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            raise _line_error(number, "has no 'custom_id' string")
        if custom_id in seen:
            raise _line_error(number, f"repeats custom_id '{custom_id}'; each must be unique")
        seen.add(custom_id)
        if line.get("method") != "POST":
            raise _line_error(number, "has a 'method' other than 'POST'")
        if line.get("url") not in BATCH_ENDPOINTS:
            raise _line_error(
                number,
                f"has an unsupported 'url' {line.get('url')!r}; use one of {BATCH_ENDPOINTS}",
            )
        if not isinstance(line.get("body"), dict):
            raise _line_error(number, "has no 'body' object")
        requests.append(line)
    if not requests:
        raise ApiError(400, "The batch input file is empty.", param="file", code="empty_file")
    return requests


def _line_error(number: int, problem: str) -> ApiError:
    return ApiError(
        400,
        f"Invalid batch input file: line {number} {problem}.",
        param="file",
        code="invalid_batch_input",
    )


def _error_body(error: ApiError) -> dict[str, Any]:
    return error.body()


class BatchEngine:
    def __init__(
        self, config: EmulatorConfig, store: Store, injector: FaultInjector, stats: Stats
    ) -> None:
        self.config = config
        self.store = store
        self.injector = injector
        self.stats = stats

    # --- API operations --------------------------------------------------------------------

    def create(self, body: Any) -> BatchState:
        if not isinstance(body, dict):
            raise ApiError(400, "We could not parse the JSON body of your request.")
        for param in ("input_file_id", "endpoint", "completion_window"):
            if not body.get(param):
                raise ApiError(
                    400,
                    f"Missing required parameter: '{param}'.",
                    param=param,
                    code="missing_required_parameter",
                )
        endpoint = body["endpoint"]
        if endpoint not in BATCH_ENDPOINTS:
            raise ApiError(
                400,
                f"Invalid value: '{endpoint}'. Supported values are: "
                + ", ".join(f"'{item}'" for item in BATCH_ENDPOINTS)
                + ".",
                param="endpoint",
                code="invalid_value",
            )
        if body["completion_window"] != "24h":
            raise ApiError(
                400,
                f"Invalid value: '{body['completion_window']}'. Supported values are: '24h'.",
                param="completion_window",
                code="invalid_value",
            )
        metadata = body.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict)
            or len(metadata) > 16
            or not all(isinstance(value, str) for value in metadata.values())
        ):
            raise ApiError(
                400,
                "Invalid 'metadata': expected an object with at most 16 string values.",
                param="metadata",
            )
        file_id = body["input_file_id"]
        stored = self.store.get_file(file_id)
        if stored is None:
            raise ApiError(404, f"No such File object: {file_id}", param="input_file_id")
        if stored.meta["purpose"] != "batch":
            raise ApiError(
                400,
                f"File {file_id} has purpose '{stored.meta['purpose']}'; batches need 'batch'.",
                param="input_file_id",
            )
        now = time.time()
        public: dict[str, Any] = {
            "id": "batch_" + brain.new_id("", 32).lower(),
            "object": "batch",
            "endpoint": endpoint,
            "model": None,
            "errors": None,
            "input_file_id": file_id,
            "completion_window": "24h",
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": int(now),
            "in_progress_at": None,
            "expires_at": int(now) + COMPLETION_WINDOW_S,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "usage": None,
            "metadata": metadata,
        }
        state = BatchState(public=public, marks={"created": now})
        self.store.add_batch(state)
        self.stats.batch_items["submitted_batches"] += 1
        return state

    def get(self, batch_id: str) -> BatchState:
        state = self.store.batches.get(batch_id)
        if state is None:
            raise ApiError(404, f"No batch found with id '{batch_id}'.", param="batch_id")
        return state

    async def retrieve(self, batch_id: str) -> dict[str, Any]:
        state = self.get(batch_id)
        await self.advance(state)
        return state.public

    async def cancel(self, batch_id: str) -> dict[str, Any]:
        state = self.get(batch_id)
        async with state.lock:
            now = time.time()
            await self._advance_locked(state, now)
            if state.status in ("validating", "in_progress"):
                state.public["status"] = "cancelling"
                state.public["cancelling_at"] = int(now)
                state.marks["cancelling"] = now
                self.store.save_batch(state)
            elif state.status != "cancelling":
                raise ApiError(
                    409, f"Cannot cancel a batch with status '{state.status}'.", param="batch_id"
                )
        return state.public

    async def advance(self, state: BatchState) -> None:
        async with state.lock:
            await self._advance_locked(state, time.time())

    def batches_by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for state in self.store.batches.values():
            counts[state.status] = counts.get(state.status, 0) + 1
        return counts

    # --- lifecycle -------------------------------------------------------------------------

    async def _advance_locked(self, state: BatchState, now: float) -> None:
        step = self.config.batch_step_s
        before = (state.status, len(state.results))
        while True:
            status = state.status
            if status == "validating":
                due = state.marks["created"] + step
                if now < due:
                    break
                self._validate(state, due)
            elif status == "in_progress":
                if not await self._progress(state, now):
                    break
            elif status == "finalizing":
                due = state.marks["finalizing"] + step
                if now < due:
                    break
                self._finish(state, "completed", due)
            elif status == "cancelling":
                due = state.marks["cancelling"] + step
                if now < due:
                    break
                self._finish(state, "cancelled", due)
            else:
                break
        if (state.status, len(state.results)) != before:
            self.store.save_batch(state)

    def _load_lines(self, state: BatchState) -> list[dict[str, Any]] | None:
        if state.lines is None:
            stored = self.store.get_file(state.public["input_file_id"])
            if stored is None:
                return None
            try:
                state.lines = parse_batch_file(stored.content, self.config.max_batch_lines)
            except ApiError:
                return None
        return state.lines

    def _fail(self, state: BatchState, at: float, errors: list[dict[str, Any]]) -> None:
        state.public.update(
            status="failed",
            failed_at=int(at),
            errors={"object": "list", "data": errors},
        )
        state.marks["failed"] = at

    def _validate(self, state: BatchState, at: float) -> None:
        lines = self._load_lines(state)
        if lines is None:
            self._fail(
                state,
                at,
                [
                    {
                        "code": "invalid_file",
                        "message": "The input file could not be read.",
                        "param": "input_file_id",
                        "line": None,
                    }
                ],
            )
            return
        endpoint = state.public["endpoint"]
        errors: list[dict[str, Any]] = []
        models = {str(line["body"].get("model")) for line in lines}
        for number, line in enumerate(lines, start=1):
            if line["url"] != endpoint:
                errors.append(
                    {
                        "code": "invalid_url",
                        "message": f"The URL provided for this request does not match the "
                        f"batch endpoint {endpoint}.",
                        "param": "url",
                        "line": number,
                    }
                )
        if len(models) > 1:
            errors.append(
                {
                    "code": "model_mismatch",
                    "message": "All requests in a batch must use the same model; found "
                    + ", ".join(sorted(models))
                    + ".",
                    "param": "body.model",
                    "line": None,
                }
            )
        model = next(iter(models))
        state.public["model"] = model
        faults = self.injector.config(model)
        if not errors and self.injector.roll(faults.batch_fail_rate):
            self.stats.faults["batch_failed"] += 1
            errors.append(
                {
                    "code": "token_limit_exceeded",
                    "message": f"Enqueued token limit reached for {model} in organization "
                    "org-emulator. Limit: 5,000,000 enqueued tokens. Please try again once "
                    "some in_progress batches have been completed.",
                    "param": None,
                    "line": None,
                }
            )
        if errors:
            self._fail(state, at, errors[:100])
            return
        state.plan = {"expire": self.injector.roll(faults.batch_expire_rate)}
        if state.plan["expire"]:
            self.stats.faults["batch_expired"] += 1
        state.public.update(
            status="in_progress",
            in_progress_at=int(at),
            request_counts={"total": len(lines), "completed": 0, "failed": 0},
        )
        state.marks["in_progress"] = at

    async def _progress(self, state: BatchState, now: float) -> bool:
        """Answer the items due by `now`; True when the in-progress step is over."""
        lines = self._load_lines(state) or []
        start = state.marks["in_progress"]
        end = start + self.config.batch_step_s
        total = len(lines)
        target = total if now >= end else int(total * (now - start) / (end - start))
        if state.plan.get("expire"):
            target = min(target, int(total * self.config.batch_expire_fraction))
        await self._answer_items(state, lines, target)
        if now < end:
            return False
        if state.plan.get("expire"):
            self._finish(state, "expired", end)
        else:
            state.public.update(status="finalizing", finalizing_at=int(end))
            state.marks["finalizing"] = end
        return True

    async def _answer_items(
        self, state: BatchState, lines: list[dict[str, Any]], target: int
    ) -> None:
        while len(state.results) < target:
            index = len(state.results)
            state.results.append(self._answer(state, index, lines[index]))
            if len(state.results) % _YIELD_EVERY == 0:
                await asyncio.sleep(0)
        counts = state.public["request_counts"]
        counts["completed"] = sum(1 for result in state.results if result.ok)
        counts["failed"] = len(state.results) - counts["completed"]

    def _answer(self, state: BatchState, index: int, line: dict[str, Any]) -> ItemResult:
        body = line["body"]
        model = body.get("model") if isinstance(body.get("model"), str) else None
        faults = self.injector.config(model)
        request_id = brain.request_id()
        try:
            response = self._respond(line["url"], body, faults.batch_item_error_rate)
        except ApiError as error:
            self.stats.batch_items["failed"] += 1
            return ItemResult(
                index=index,
                ok=False,
                line={
                    "id": "batch_req_" + brain.new_id("", 32).lower(),
                    "custom_id": line["custom_id"],
                    "response": {
                        "status_code": error.status,
                        "request_id": request_id,
                        "body": _error_body(error),
                    },
                    "error": None,
                },
            )
        self.stats.batch_items["completed"] += 1
        self._add_usage(state, response.get("usage") or {})
        return ItemResult(
            index=index,
            ok=True,
            line={
                "id": "batch_req_" + brain.new_id("", 32).lower(),
                "custom_id": line["custom_id"],
                "response": {"status_code": 200, "request_id": request_id, "body": response},
                "error": None,
            },
        )

    def _respond(self, url: str, body: dict[str, Any], error_rate: float) -> dict[str, Any]:
        """Validate first (a bad request is always a 400), then maybe fail, then answer."""
        if url == "/v1/embeddings":
            request = brain.validate_embeddings(body, self.config.embedding_models)
            self._item_fault(error_rate)
            return brain.embeddings_response(request, self.config.embedding_models[request.model])
        chat = brain.validate_chat(body, self.config.known_models)
        self._item_fault(error_rate)
        content_faults = content_faults_for(self.injector, self.stats, chat.model)
        return brain.chat_completion(
            chat,
            content_faults,
            system_fingerprint=self.config.system_fingerprint,
            enforce_completion_limit=self.config.enforce_completion_limit,
        )

    def _item_fault(self, error_rate: float) -> None:
        if self.injector.roll(error_rate):
            self.stats.faults["batch_item_error"] += 1
            raise server_error()

    def _add_usage(self, state: BatchState, usage: dict[str, Any]) -> None:
        self.stats.add_usage(usage, batch=True)
        details = usage.get("completion_tokens_details") or {}
        state.usage["input_tokens"] = state.usage.get("input_tokens", 0) + int(
            usage.get("prompt_tokens", 0)
        )
        state.usage["output_tokens"] = state.usage.get("output_tokens", 0) + int(
            usage.get("completion_tokens", 0)
        )
        state.usage["reasoning_tokens"] = state.usage.get("reasoning_tokens", 0) + int(
            details.get("reasoning_tokens", 0)
        )

    def _finish(self, state: BatchState, status: str, at: float) -> None:
        outputs = [json.dumps(result.line) for result in state.results if result.ok]
        errors = [json.dumps(result.line) for result in state.results if not result.ok]
        lines = state.lines or []
        if status == "expired":
            for line in lines[len(state.results) :]:
                errors.append(
                    json.dumps(
                        {
                            "id": "batch_req_" + brain.new_id("", 32).lower(),
                            "custom_id": line["custom_id"],
                            "response": None,
                            "error": {
                                "code": "batch_expired",
                                "message": "This request could not be executed before the "
                                "completion window expired.",
                            },
                        }
                    )
                )
        model = state.public.get("model")
        if self.injector.config(model).shuffle_output:
            self.injector.shuffle(outputs)
            self.injector.shuffle(errors)
        batch_id = state.id
        if outputs:
            stored = self.store.add_file(
                f"{batch_id}_output.jsonl", "batch_output", ("\n".join(outputs) + "\n").encode()
            )
            state.public["output_file_id"] = stored.id
        if errors:
            stored = self.store.add_file(
                f"{batch_id}_error.jsonl", "batch_output", ("\n".join(errors) + "\n").encode()
            )
            state.public["error_file_id"] = stored.id
        total = state.public["request_counts"]["total"]
        state.public["request_counts"] = {
            "total": total,
            "completed": len(outputs),
            "failed": len(errors),
        }
        input_tokens = state.usage.get("input_tokens", 0)
        output_tokens = state.usage.get("output_tokens", 0)
        state.public["usage"] = {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": state.usage.get("reasoning_tokens", 0)},
            "total_tokens": input_tokens + output_tokens,
        }
        state.public["status"] = status
        state.public[f"{status}_at"] = int(at)
        if status == "completed":
            state.public["finalizing_at"] = state.public["finalizing_at"] or int(at)
        state.marks[status] = at
        state.lines = None if status in TERMINAL else state.lines


def content_faults_for(injector: FaultInjector, stats: Stats, model: str) -> brain.ContentFaults:
    faults = injector.config(model)
    malformed = injector.malformed_kind() if injector.roll(faults.malformed_json_rate) else None
    low = injector.roll(faults.low_confidence_rate)
    if malformed:
        stats.faults[f"malformed_json_{malformed}"] += 1
    if low:
        stats.faults["low_confidence"] += 1
    return brain.ContentFaults(low_confidence=low, malformed=malformed)

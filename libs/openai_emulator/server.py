"""The aiohttp application speaking OpenAI's HTTP API (chat, embeddings, files, batches)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import BodyPartReader, web
from pydantic import ValidationError

from openai_emulator import brain
from openai_emulator.batches import BatchEngine, content_faults_for, parse_batch_file
from openai_emulator.config import EmulatorConfig
from openai_emulator.errors import ApiError, not_found, server_error
from openai_emulator.faults import FaultInjector, Faults
from openai_emulator.stats import Stats
from openai_emulator.store import Store

log = logging.getLogger(__name__)

FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
_CHUNK = 1 << 16

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Emulator:
    """The emulator's state and request handlers; one per application."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.store = Store(config.data_dir)
        self.injector = FaultInjector(config.faults)
        self.stats = Stats()
        self.batches = BatchEngine(config, self.store, self.injector, self.stats)

    # --- helpers ---------------------------------------------------------------------------

    @staticmethod
    async def _json_body(request: web.Request) -> Any:
        raw = await request.read()
        try:
            return json.loads(raw or b"null")
        except ValueError as exc:
            raise ApiError(
                400,
                "We could not parse the JSON body of your request. (HINT: This likely means you "
                "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
            ) from exc

    async def _http_faults(self, model: str) -> None:
        """Injected transport-level faults for one model call: 429, 500 or a long delay."""
        faults = self.injector.config(model)
        if self.injector.roll(faults.error_rate_429):
            self.stats.faults["http_429"] += 1
            raise ApiError(
                429,
                f"Rate limit reached for {model} in organization org-emulator on requests per "
                "min (RPM): Limit 500, Used 500, Requested 1. Please try again in "
                f"{faults.retry_after_s:g}s. Visit https://platform.openai.com/account/rate-limits"
                " to learn more.",
                type="requests",
                code="rate_limit_exceeded",
                headers={"retry-after": f"{faults.retry_after_s:g}"},
            )
        if self.injector.roll(faults.error_rate_500):
            self.stats.faults["http_500"] += 1
            raise server_error()
        if self.injector.roll(faults.timeout_rate):
            self.stats.faults["timeout"] += 1
            await asyncio.sleep(faults.timeout_s)

    def _count(self, endpoint: str, model: Any = None) -> None:
        self.stats.requests_by_endpoint[endpoint] += 1
        if isinstance(model, str) and model:
            self.stats.requests_by_model[model] += 1

    # --- model endpoints -------------------------------------------------------------------

    async def chat_completions(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        self._count("chat.completions", body.get("model") if isinstance(body, dict) else None)
        chat = brain.validate_chat(body, self.config.known_models)
        await self._http_faults(chat.model)
        completion = brain.chat_completion(
            chat,
            content_faults_for(self.injector, self.stats, chat.model),
            system_fingerprint=self.config.system_fingerprint,
            enforce_completion_limit=self.config.enforce_completion_limit,
        )
        self.stats.add_usage(completion["usage"])
        return web.json_response(completion)

    async def embeddings(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        self._count("embeddings", body.get("model") if isinstance(body, dict) else None)
        embedding = brain.validate_embeddings(body, self.config.embedding_models)
        await self._http_faults(embedding.model)
        response = brain.embeddings_response(
            embedding, self.config.embedding_models[embedding.model]
        )
        self.stats.add_usage(response["usage"])
        return web.json_response(response)

    async def list_models(self, request: web.Request) -> web.Response:
        self._count("models.list")
        models = [*self.config.known_models, *self.config.embedding_models]
        return web.json_response({"object": "list", "data": [_model(name) for name in models]})

    async def retrieve_model(self, request: web.Request) -> web.Response:
        self._count("models.retrieve")
        name = request.match_info["model"]
        if name not in self.config.known_models and name not in self.config.embedding_models:
            raise ApiError(
                404,
                f"The model '{name}' does not exist",
                param="model",
                code="model_not_found",
            )
        return web.json_response(_model(name))

    # --- files -----------------------------------------------------------------------------

    async def upload_file(self, request: web.Request) -> web.Response:
        self._count("files.create")
        if not request.content_type.startswith("multipart/"):
            raise ApiError(400, "The request must be multipart/form-data.", param="file")
        reader = await request.multipart()
        purpose: str | None = None
        filename: str | None = None
        content: bytes | None = None
        limit = self.config.max_file_bytes
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "purpose":
                purpose = (await part.text()).strip()
            elif part.name == "file":
                filename = part.filename or "upload"
                chunks: list[bytes] = []
                size = 0
                while chunk := await part.read_chunk(_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise ApiError(
                            400,
                            f"File is too large. The maximum size for a batch input file is "
                            f"{limit // (1024 * 1024)} MB.",
                            param="file",
                            code="file_too_large",
                        )
                    chunks.append(chunk)
                content = b"".join(chunks)
            else:
                await part.release()
        if content is None or filename is None:
            raise ApiError(
                400,
                "Missing required parameter: 'file'.",
                param="file",
                code="missing_required_parameter",
            )
        if not purpose:
            raise ApiError(
                400,
                "Missing required parameter: 'purpose'.",
                param="purpose",
                code="missing_required_parameter",
            )
        if purpose not in FILE_PURPOSES:
            raise ApiError(
                400,
                f"Invalid value: '{purpose}'. Supported values are: "
                + ", ".join(f"'{item}'" for item in FILE_PURPOSES)
                + ".",
                param="purpose",
                code="invalid_value",
            )
        if purpose == "batch":
            if not filename.endswith(".jsonl"):
                raise ApiError(
                    400, "Invalid file format for Batch API. Must be .jsonl", param="file"
                )
            parse_batch_file(content, self.config.max_batch_lines)
        stored = self.store.add_file(filename, purpose, content)
        return web.json_response(stored.meta)

    def _file(self, request: web.Request) -> Any:
        file_id = request.match_info["file_id"]
        stored = self.store.get_file(file_id)
        if stored is None:
            raise not_found(f"No such File object: {file_id}", param="id")
        return stored

    async def retrieve_file(self, request: web.Request) -> web.Response:
        self._count("files.retrieve")
        return web.json_response(self._file(request).meta)

    async def file_content(self, request: web.Request) -> web.Response:
        self._count("files.content")
        stored = self._file(request)
        return web.Response(body=stored.content, content_type="application/octet-stream")

    async def delete_file(self, request: web.Request) -> web.Response:
        self._count("files.delete")
        stored = self._file(request)
        self.store.delete_file(stored.id)
        return web.json_response({"id": stored.id, "object": "file", "deleted": True})

    async def list_files(self, request: web.Request) -> web.Response:
        self._count("files.list")
        purpose = request.query.get("purpose")
        items = [
            stored.meta
            for stored in self.store.files.values()
            if purpose is None or stored.meta["purpose"] == purpose
        ]
        order = request.query.get("order", "desc")
        items = _ordered(items, order)
        page, has_more = _page(items, request, default_limit=10_000, max_limit=10_000)
        return web.json_response(_list_body(page, has_more))

    # --- batches ---------------------------------------------------------------------------

    async def create_batch(self, request: web.Request) -> web.Response:
        self._count("batches.create")
        state = self.batches.create(await self._json_body(request))
        return web.json_response(state.public)

    async def retrieve_batch(self, request: web.Request) -> web.Response:
        self._count("batches.retrieve")
        return web.json_response(await self.batches.retrieve(request.match_info["batch_id"]))

    async def cancel_batch(self, request: web.Request) -> web.Response:
        self._count("batches.cancel")
        return web.json_response(await self.batches.cancel(request.match_info["batch_id"]))

    async def list_batches(self, request: web.Request) -> web.Response:
        self._count("batches.list")
        states = list(self.store.batches.values())
        for state in states:
            await self.batches.advance(state)
        items = _ordered([state.public for state in states], "desc")
        page, has_more = _page(items, request, default_limit=20, max_limit=100)
        return web.json_response(_list_body(page, has_more))

    # --- admin -----------------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.injector.faults.model_dump())

    async def set_faults(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        try:
            faults = Faults.model_validate(body if body is not None else {})
        except ValidationError as exc:
            raise ApiError(400, f"Invalid fault configuration: {exc}", param="faults") from exc
        self.injector.replace(faults)
        self.config.faults = faults
        log.info("fault configuration replaced: %s", faults.model_dump_json())
        return web.json_response(faults.model_dump())

    async def get_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats.snapshot(self.batches.batches_by_status()))


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "system"}


def _ordered(items: list[dict[str, Any]], order: str) -> list[dict[str, Any]]:
    # Insertion order breaks ties between objects created within the same second.
    indexed = list(enumerate(items))
    indexed.sort(key=lambda pair: (pair[1]["created_at"], pair[0]), reverse=order != "asc")
    return [item for _, item in indexed]


def _page(
    items: list[dict[str, Any]], request: web.Request, *, default_limit: int, max_limit: int
) -> tuple[list[dict[str, Any]], bool]:
    raw_limit = request.query.get("limit")
    try:
        limit = int(raw_limit) if raw_limit is not None else default_limit
    except ValueError as exc:
        raise ApiError(400, f"Invalid 'limit': {raw_limit!r}.", param="limit") from exc
    if not 1 <= limit <= max_limit:
        raise ApiError(
            400,
            f"Invalid 'limit': expected a value between 1 and {max_limit}, got {limit}.",
            param="limit",
        )
    after = request.query.get("after")
    if after:
        ids = [item["id"] for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    return items[:limit], len(items) > limit


def _list_body(page: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": has_more,
    }


def _error_response(error: ApiError) -> web.Response:
    return web.json_response(error.body(), status=error.status, headers=error.headers)


@web.middleware
async def _api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    emulator = request.app[EMULATOR]
    response: web.StreamResponse
    try:
        if request.path.startswith("/v1/"):
            auth = request.headers.get("Authorization", "")
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ApiError(
                    401,
                    "You didn't provide an API key. You need to provide your API key in an "
                    "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                )
        response = await handler(request)
    except ApiError as error:
        response = _error_response(error)
    except web.HTTPNotFound:
        response = _error_response(ApiError(404, f"Invalid URL ({request.method} {request.path})"))
    except web.HTTPMethodNotAllowed:
        response = _error_response(
            ApiError(405, f"Invalid method for URL ({request.method} {request.path})")
        )
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unhandled error serving %s %s", request.method, request.path)
        response = _error_response(server_error())
    emulator.stats.responses_by_status[str(response.status)] += 1
    response.headers.setdefault("x-request-id", brain.request_id())
    response.headers["openai-processing-ms"] = str(int((time.perf_counter() - started) * 1000))
    response.headers["openai-version"] = "2020-10-01"
    return response


EMULATOR: web.AppKey[Emulator] = web.AppKey("emulator", Emulator)


def create_app(config: EmulatorConfig | None = None) -> web.Application:
    """Build the emulator's aiohttp application."""
    emulator = Emulator(config or EmulatorConfig())
    app = web.Application(middlewares=[_api_middleware], client_max_size=64 * 1024 * 1024)
    app[EMULATOR] = emulator
    routes = [
        web.get("/health", emulator.health),
        web.get("/_emulator/faults", emulator.get_faults),
        web.post("/_emulator/faults", emulator.set_faults),
        web.get("/_emulator/stats", emulator.get_stats),
        web.get("/v1/models", emulator.list_models),
        web.get("/v1/models/{model}", emulator.retrieve_model),
        web.post("/v1/chat/completions", emulator.chat_completions),
        web.post("/v1/embeddings", emulator.embeddings),
        web.post("/v1/files", emulator.upload_file),
        web.get("/v1/files", emulator.list_files),
        web.get("/v1/files/{file_id}", emulator.retrieve_file),
        web.delete("/v1/files/{file_id}", emulator.delete_file),
        web.get("/v1/files/{file_id}/content", emulator.file_content),
        web.post("/v1/batches", emulator.create_batch),
        web.get("/v1/batches", emulator.list_batches),
        web.get("/v1/batches/{batch_id}", emulator.retrieve_batch),
        web.post("/v1/batches/{batch_id}/cancel", emulator.cancel_batch),
    ]
    app.add_routes(routes)
    return app


@dataclass
class EmulatorHandle:
    """A running emulator: `url` is the server root, `base_url` what the SDK needs."""

    url: str
    app: web.Application
    runner: web.AppRunner
    _stopped: bool = False

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    @property
    def emulator(self) -> Emulator:
        return self.app[EMULATOR]

    async def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            await self.runner.cleanup()

    async def __aenter__(self) -> EmulatorHandle:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


async def run_in_background(
    config: EmulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> EmulatorHandle:
    """Start the emulator on the running loop (port 0 picks a free one) and return its handle."""
    app = create_app(config)
    # Cancel handlers whose client went away (an injected delay must not outlive its caller).
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    return EmulatorHandle(url=f"http://{bound_host}:{bound_port}", app=app, runner=runner)

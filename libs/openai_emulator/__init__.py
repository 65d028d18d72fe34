"""An OpenAI-compatible HTTP server for development, tests and demos.

It speaks the parts of the API the platform uses (chat completions, embeddings, files and the
Batch API) so the real `openai` SDK runs unchanged against it; answers come from the
deterministic extractor and faults are injected on demand.

Run it with `python -m openai_emulator --port 8700` (see `--help`) or in-process with
`await run_in_background(EmulatorConfig(...))`, whose handle has `.url`, `.base_url` (for the
SDK) and `stop()`. Besides the `/v1` API it serves `GET /health`, `GET|POST /_emulator/faults`
(read or replace the fault configuration at run time) and `GET /_emulator/stats`.
"""

from openai_emulator.config import EmulatorConfig
from openai_emulator.faults import FaultConfig, Faults
from openai_emulator.server import Emulator, EmulatorHandle, create_app, run_in_background

__all__ = [
    "Emulator",
    "EmulatorConfig",
    "EmulatorHandle",
    "FaultConfig",
    "Faults",
    "create_app",
    "run_in_background",
]

"""The test side's view of the counter provider's "cloud" (its JSON file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class CounterCloud:
    """The JSON file the counter provider (in the server subprocess) treats as its cloud."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"next": 1, "items": {}, "log": []}
        data: dict[str, Any] = json.loads(self.path.read_text())
        return data

    def save(self, db: dict[str, Any]) -> None:
        self.path.write_text(json.dumps(db))

    def log_since(self, mark: int) -> list[list[str]]:
        log: list[list[str]] = self.load()["log"][mark:]
        return log

    def log_length(self) -> int:
        return len(self.load()["log"])

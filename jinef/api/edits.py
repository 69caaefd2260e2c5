"""A worker's editor of the registry: opened on first use, one edit at a time per worker (the store serialises
workers and processes), run off the event loop; every edit then applied to this worker's overlay at once so the
caller reads its own write on the next request."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

from jinef.api.deps import ApiError
from jinef.common.config import RegistryLocation, RegistryNotFoundError
from jinef.common.messages import message
from jinef.write.edit.editor import RegistryEditor
from jinef.write.edit.errors import EditError

T = TypeVar("T")


class Edits:
    """The worker's :class:`RegistryEditor`, shared by its request threads under a lock."""

    def __init__(self, location: RegistryLocation) -> None:
        self.location = location
        self._editor: RegistryEditor | None = None
        self._lock = threading.Lock()

    def _call(self, fn: Callable[[RegistryEditor], T]) -> T:
        with self._lock:
            if self._editor is None:
                self._editor = RegistryEditor.open(self.location)
            return fn(self._editor)

    async def run(self, fn: Callable[[RegistryEditor], T]) -> T:
        """``fn(editor)`` in a thread; an :class:`EditError` becomes the API error it describes."""
        try:
            return await asyncio.to_thread(self._call, fn)
        except EditError as exc:
            raise ApiError(exc.status, exc.code, exc.text,
                           details={"field": exc.field, "message_fa": exc.message_fa}) from None
        except RegistryNotFoundError:
            raise ApiError(503, "registry_unavailable", message("api.registry_unavailable")) from None

    def close(self) -> None:
        """Release the editor's connection."""
        with self._lock:
            if self._editor is not None:
                self._editor.close()
                self._editor = None

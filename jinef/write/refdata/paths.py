"""Where the reference data lives: ``JINEF_DATA``, else ``../shared/data/iran`` when it exists."""

from __future__ import annotations

from pathlib import Path

from jinef.common.messages import Message, message
from jinef.common.settings import settings


class DataMissingError(FileNotFoundError):
    """The reference data folder or one of its files is missing (``text``: the catalogue's message, when there is
    one; ``str()`` is English)."""

    def __init__(self, detail: str | Message) -> None:
        super().__init__(detail.text("en") if isinstance(detail, Message) else detail)
        self.text = detail if isinstance(detail, Message) else None


def data_dir() -> Path:
    """The reference data folder, checked to exist."""
    configured = settings().data
    if configured is not None:
        path = configured
    else:
        candidates = [Path.cwd() / ".." / "shared" / "data" / "iran"]
        # Also relative to the checkout, so the CLI works from any working directory.
        candidates.append(Path(__file__).resolve().parents[3] / "shared" / "data" / "iran")
        path = next((c for c in candidates if c.is_dir()), candidates[0])
    if not path.is_dir():
        raise DataMissingError(message("refdata.no_folder", path=str(path)))
    return path.resolve()


def data_file(*parts: str, root: Path | None = None) -> Path:
    """A file inside the data folder, with a clear error naming it when missing."""
    path = (root or data_dir()).joinpath(*parts)
    if not path.is_file():
        raise DataMissingError(message("refdata.no_file", path=str(path)))
    return path

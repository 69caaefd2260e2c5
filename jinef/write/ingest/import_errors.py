"""Why the importer refused a row: where (row, field), which rule, and the reason as a catalogue message.

The reason is kept as a :class:`~jinef.common.messages.Message` so that `jinef import --lang fa` and the
rejects file can say it in Persian; :attr:`RowError.message` is its English text, worded as the row-by-row
importer always worded it (the reference importer in the tests compares it word for word).
"""

from __future__ import annotations

from dataclasses import dataclass

from jinef.common.messages import DEFAULT_LANGUAGE, Language, Message, message


@dataclass(frozen=True)
class RowError:
    """Why one row was refused: where (row, field) and which rule."""

    row: int  # 1 = the first data row (line 2 of a CSV file)
    field: str
    rule: str
    reason: Message

    @property
    def message(self) -> str:
        """The reason in English."""
        return self.reason.text(DEFAULT_LANGUAGE)

    def text(self, language: Language = DEFAULT_LANGUAGE) -> str:
        """The reason in ``language``."""
        return self.reason.text(language)

    def described(self) -> Message:
        """The whole refusal: row, field, reason and rule."""
        return message("import.row_error", row=self.row, field=self.field, reason=self.reason, rule=self.rule)

    def __str__(self) -> str:
        return self.described().text(DEFAULT_LANGUAGE)

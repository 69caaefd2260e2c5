"""Every message a user reads, in English and Persian, from one catalogue (``catalogue.toml``).

Code names a message by its id and the values of its named fields (:func:`message`); the words live in the
catalogue and are chosen when the message is shown (:meth:`Message.text`), in the language the caller asked
for (:mod:`jinef.common.messages.language`).
"""

from jinef.common.messages.catalogue import Catalogue, Message, MessageError, catalogue, message
from jinef.common.messages.language import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Language,
    language_from_environment,
    negotiate,
)

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "Catalogue", "Language", "Message", "MessageError", "catalogue",
           "language_from_environment", "message", "negotiate"]

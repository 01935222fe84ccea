"""Conversational retrieval assistant: answers questions about a folder of articles with
citations that point at the exact passages they rest on."""

from . import settings as _settings  # noqa: F401  (sets the offline environment first)
from .core import Assistant, UserError, answer
from .schema import Answer, Citation, Document, IndexReport, Passage

__all__ = ["Answer", "Assistant", "Citation", "Document", "IndexReport", "Passage", "UserError",
           "answer"]

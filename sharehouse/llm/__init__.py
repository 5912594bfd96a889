"""LLM backends behind one interface: ``local`` (llama-cpp-python) and ``litellm`` (any API)."""

from sharehouse.llm.base import ChatModel, Completion, GenParams, LLMError, Message, TransientLLMError
from sharehouse.llm.registry import DEFAULT_MODEL, ModelConfig, load_model, parse_spec, release_local_models

__all__ = [
    "DEFAULT_MODEL",
    "ChatModel",
    "Completion",
    "GenParams",
    "LLMError",
    "Message",
    "ModelConfig",
    "TransientLLMError",
    "load_model",
    "parse_spec",
    "release_local_models",
]

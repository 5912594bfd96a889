"""Serving the game to browsers (``sharehouse serve``): one game process per connection, all of them
on one OpenAI-compatible model server."""

from sharehouse.serving.model_server import Endpoint, ModelServer, ModelServerError
from sharehouse.serving.web import GameServer, game_argv

__all__ = ["Endpoint", "GameServer", "ModelServer", "ModelServerError", "game_argv"]

"""The widgets of the game screen."""

from sharehouse.tui.widgets.chat_log import ChatLog, ChatMessage
from sharehouse.tui.widgets.house_map import HouseMap, MapState, render_house
from sharehouse.tui.widgets.npc_panel import NpcPanel
from sharehouse.tui.widgets.reply_input import ReplyInput
from sharehouse.tui.widgets.status_panel import StatusInfo, StatusPanel, progress_dots

__all__ = [
    "ChatLog",
    "ChatMessage",
    "HouseMap",
    "MapState",
    "NpcPanel",
    "ReplyInput",
    "StatusInfo",
    "StatusPanel",
    "progress_dots",
    "render_house",
]

"""The screens of the game."""

from sharehouse.tui.screens.closing import ClosingScreen
from sharehouse.tui.screens.continue_game import ContinueScreen, resumable_sessions
from sharehouse.tui.screens.dialogs import HelpScreen, QuitScreen
from sharehouse.tui.screens.game import GameScreen
from sharehouse.tui.screens.settings import ModelSettings, SettingsScreen
from sharehouse.tui.screens.start import StartScreen
from sharehouse.tui.screens.summary import DaySummary, DaySummaryScreen, summarise_day

__all__ = [
    "ClosingScreen",
    "ContinueScreen",
    "DaySummary",
    "DaySummaryScreen",
    "GameScreen",
    "HelpScreen",
    "ModelSettings",
    "QuitScreen",
    "SettingsScreen",
    "StartScreen",
    "resumable_sessions",
    "summarise_day",
]

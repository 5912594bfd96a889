"""The Textual game: ``SharehouseApp`` and its screens and widgets."""

from sharehouse.tui.app import ModelFactory, SharehouseApp

__all__ = ["ModelFactory", "SharehouseApp"]

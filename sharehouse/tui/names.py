"""The names the TUI navigates by: the screens the apps register (``App.SCREENS``) and the modes
they run (``App.MODES``, each its own stack of screens).

A named screen is one instance for the app's life (Textual installs it the first time it is asked
for). Screens that show one thing (a session, a run, a language's users) are opened as instances.
"""

from __future__ import annotations

# -- screens ----------------------------------------------------------------------------------
START = "start"  # the game's first screen: language, nickname, consent, new game / continue / settings
CONTINUE = "continue"  # the unfinished games to continue
SETTINGS = "settings"  # which model plays the housemates
PARTICIPANT = "participant"  # participant mode's first screen: language, then new participant or resume code
RUNS = "runs"  # the evaluator's list of evaluation runs

# -- modes ------------------------------------------------------------------------------------
GAME = "game"  # the game: the start screen, then the game screen and its dialogs
EVALUATOR = "evaluator"  # the evaluator: the list of runs (or the run asked for), leaderboards, drill-downs

"""The evaluator in the terminal: the list of runs and the run-setup form (:mod:`.setup`), a run's
leaderboard and progress (:mod:`.board`), the drill-down (:mod:`.drill`), what the screens ask
(:mod:`.messages`) and how an app answers (:mod:`.navigation`), and the stand-alone app (:mod:`.app`).
"""

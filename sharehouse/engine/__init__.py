"""The game engine: the scenario FSM, housemate prompting, reply checks and the turn loop."""

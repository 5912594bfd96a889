"""Choosing what the evaluator shows or runs: the list of stored runs, and the run-setup form.

:class:`RunsScreen` lists every evaluation run (newest first): enter opens one, ``u`` resumes an
unfinished one (the runner skips every stored prediction), ``n`` sets up a new run.
:class:`RunSetupScreen` picks the data (source, languages, users, limits), the methods (from the
registry), the models and the seed, then starts the run on the evaluator screen.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Checkbox, DataTable, Footer, Input, Label, Select, SelectionList, Static
from textual.widgets.selection_list import Selection

from evaluator.methods import get_method, load_all
from evaluator.protocols import PROTOCOLS, check_method, method_protocols
from evaluator.request import RunRequest
from evaluator.runner import EvalParams
from sharehouse.cli_common import split_list
from sharehouse.lang import ENGLISH_NAMES
from sharehouse.lang import LANGS as LANGUAGE_CODES
from sharehouse.llm import parse_spec
from sharehouse.store import Store
from sharehouse.store.evaluation import list_eval_runs
from sharehouse.tui.context import evaluator_context
from sharehouse.tui.evaluator.messages import READ_ONLY_NOTE, Back, NewRun, OpenRun

LANGS: tuple[tuple[str, str], ...] = tuple((code, ENGLISH_NAMES[code]) for code in LANGUAGE_CODES)


def store_sources(store: Store) -> list[tuple[str, int]]:
    """The ``--source`` values the store can serve, with their session counts: every session
    source, then ``run:ID`` for every run that produced sessions; ``yntp100`` always first."""
    sources: dict[str, int] = {"yntp100": 0}
    runs: dict[str, int] = {}
    for rec in store.list_sessions():
        sources[rec.source] = sources.get(rec.source, 0) + 1
        if rec.run_id:
            runs[f"run:{rec.run_id}"] = runs.get(f"run:{rec.run_id}", 0) + 1
    return [*sources.items(), *sorted(runs.items())]


def _positive(value: str, name: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"{name}: {value!r} is not a whole number") from None
    if n < 1:
        raise ValueError(f"{name}: must be at least 1")
    return n


class RunsScreen(Screen[None]):
    """Every evaluation run of the store; open, resume or set up a run. The apps register it by name
    (:data:`~sharehouse.tui.names.RUNS`): one instance, which reads the runs again whenever it is shown."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("enter", "open_run", "Open", show=True),
        Binding("u", "resume", "Resume"),
        Binding("n", "new_run", "New run"),
    ]
    DEFAULT_CSS = """
    RunsScreen #runs-title { height: 1; padding: 0 1; text-style: bold; }
    RunsScreen #runs-hint { height: auto; padding: 0 1; color: $text-muted; }
    RunsScreen #runs-table { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[dict[str, Any]] = []

    @property
    def store(self) -> Store:
        return evaluator_context(self).store

    def compose(self) -> ComposeResult:
        yield Static("Evaluation runs", id="runs-title")
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="runs-hint")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        for col in ("run", "status", "created", "predictions", "users", "methods", "models"):
            table.add_column(col, key=col)
        self.reload()
        table.focus()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.runs = list_eval_runs(self.store)
        table = self.query_one("#runs-table", DataTable)
        keep = table.cursor_row
        table.clear()
        for r in self.runs:
            config = (self.store.get_run(r["id"]) or {}).get("config") or {}
            status = Text(r["status"], style="green" if r["status"] == "complete" else "yellow")
            table.add_row(
                r["id"],
                status,
                str(r["created_at"])[:19],
                Text(str(r["predictions"]), justify="right"),
                Text(str(len(config.get("users") or [])), justify="right"),
                ", ".join(config.get("methods") or []),
                ", ".join(config.get("models") or []),
                key=r["id"],
            )
        if self.runs:
            table.move_cursor(row=min(keep, len(self.runs) - 1))
        hint = (
            "enter: open the leaderboard · u: resume an unfinished run · n: set up a new run · escape: back"
        )
        if not self.runs:
            hint = "No evaluation runs in this database yet: press n to set one up. " + hint
        if self.store.read_only:
            hint += "\n" + READ_ONLY_NOTE
        self.query_one("#runs-hint", Static).update(hint)

    def selected(self) -> dict[str, Any] | None:
        table = self.query_one("#runs-table", DataTable)
        if not self.runs or table.cursor_row < 0:
            return None
        return self.runs[min(table.cursor_row, len(self.runs) - 1)]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_run()

    def action_back(self) -> None:
        self.post_message(Back())

    def action_open_run(self) -> None:
        run = self.selected()
        if run is not None:
            self.post_message(OpenRun(run["id"]))

    def action_resume(self) -> None:
        run = self.selected()
        if run is None:
            return
        if self.store.read_only:
            self.notify(READ_ONLY_NOTE, severity="warning")
            return
        if run["status"] == "complete":
            self.notify(f"run {run['id']} is complete: nothing to resume", severity="warning")
            return
        try:
            request = RunRequest.from_run(self.store, run["id"])
            tasks, _ = request.build_tasks(self.store)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        if not tasks:
            self.notify(f"run {run['id']}: none of its sessions can be evaluated any more", severity="error")
            return
        self.post_message(OpenRun(run["id"], request=request, tasks=tasks))

    def action_new_run(self) -> None:
        if self.store.read_only:
            self.notify(READ_ONLY_NOTE, severity="warning")
            return
        self.post_message(NewRun())


class RunSetupScreen(Screen[None]):
    """The form of a new run; Start opens the evaluator screen with the run going."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("ctrl+s", "start", "Start")]
    DEFAULT_CSS = """
    RunSetupScreen #setup-title { height: 1; padding: 0 1; text-style: bold; }
    RunSetupScreen #setup-body { height: 1fr; }
    RunSetupScreen .setup-col { width: 1fr; height: auto; padding: 0 1; }
    RunSetupScreen .setup-label { margin-top: 1; color: $text-muted; }
    RunSetupScreen #setup-languages { height: auto; }
    RunSetupScreen #setup-languages Checkbox { width: auto; }
    RunSetupScreen #setup-body > Horizontal { height: auto; }
    RunSetupScreen #setup-methods { height: 11; }
    RunSetupScreen #setup-method-help { height: 3; color: $text-muted; }
    RunSetupScreen .setup-row { height: auto; }
    RunSetupScreen .setup-row Vertical { width: 1fr; height: auto; }
    RunSetupScreen #setup-error { height: auto; color: $error; padding: 0 1; }
    RunSetupScreen #setup-buttons { height: auto; padding: 0 1; }
    RunSetupScreen #setup-buttons Button { margin-right: 2; }
    """

    def __init__(self, store: Store, prefill: RunRequest | None = None) -> None:
        super().__init__()
        self.store = store
        self.prefill = prefill or RunRequest()

    def compose(self) -> ComposeResult:
        req = self.prefill
        sources = store_sources(self.store)
        if req.source not in {s for s, _ in sources}:
            sources.insert(0, (req.source, 0))
        registry = load_all()
        methods = sorted(registry)
        yield Static("New evaluation run", id="setup-title")
        with VerticalScroll(id="setup-body"), Horizontal():
            with Vertical(classes="setup-col"):
                yield Label("Source (the sessions to evaluate)", classes="setup-label")
                yield Select(
                    [(f"{s} ({n} sessions)", s) for s, n in sources],
                    value=req.source,
                    allow_blank=False,
                    id="setup-source",
                )
                yield Label("Languages", classes="setup-label")
                with Horizontal(id="setup-languages"):
                    for code, name in LANGS:
                        on_ = req.languages is None or code in req.languages
                        yield Checkbox(name, on_, id=f"setup-lang-{code}")
                yield Label("Users (comma-separated ids; empty = every user)", classes="setup-label")
                yield Input(", ".join(req.users or []), placeholder="e.g. en_1, en_2", id="setup-users")
                with Horizontal(classes="setup-row"):
                    with Vertical():
                        yield Label("Users per language (max)", classes="setup-label")
                        yield Input(_opt(req.limit_users), placeholder="all", id="setup-limit-users")
                    with Vertical():
                        yield Label("Day-5 turns per user (max)", classes="setup-label")
                        yield Input(_opt(req.limit_turns), placeholder="all", id="setup-limit-turns")
            with Vertical(classes="setup-col"):
                yield Label("Protocol (prompts and generation settings)", classes="setup-label")
                yield Select(
                    [(f"{p.name}: {p.description}", p.name) for p in PROTOCOLS.values()],
                    value=req.params.protocol,
                    allow_blank=False,
                    id="setup-protocol",
                )
                yield Label("Methods (space toggles)", classes="setup-label")
                yield SelectionList[str](
                    *(
                        Selection(_method_label(name, registry[name]), name, name in req.methods)
                        for name in methods
                        if name in registry
                    ),
                    id="setup-methods",
                )
                yield Static(id="setup-method-help")
                yield Label("Models (comma-separated specs)", classes="setup-label")
                yield Input(
                    ", ".join(req.models),
                    placeholder="local, local:small or a litellm model",
                    id="setup-models",
                )
                with Horizontal(classes="setup-row"):
                    with Vertical():
                        yield Label("Seed", classes="setup-label")
                        yield Input(str(req.seed), id="setup-seed")
                    with Vertical():
                        yield Label("Max tokens", classes="setup-label")
                        yield Input(str(req.params.max_tokens), id="setup-max-tokens")
                    with Vertical():
                        yield Label("Run id", classes="setup-label")
                        yield Input(req.run_id or "", placeholder="new", id="setup-run-id")
        yield Static(id="setup-error")
        with Horizontal(id="setup-buttons"):
            yield Button("Start", id="setup-start", variant="primary")
            yield Button("Back", id="setup-back")
        yield Footer()

    def on_mount(self) -> None:
        methods = self.query_one("#setup-methods", SelectionList)
        methods.focus()
        self._describe(methods)

    @on(Select.Changed, "#setup-protocol")
    def _protocol_changed(self, event: Select.Changed) -> None:
        """A protocol brings its own reply length; the field shows it (and can still be changed)."""
        if event.value in PROTOCOLS:
            self.query_one("#setup-max-tokens", Input).value = str(PROTOCOLS[str(event.value)].max_tokens)

    @on(SelectionList.SelectionHighlighted, "#setup-methods")
    def _method_highlighted(self, event: SelectionList.SelectionHighlighted) -> None:
        self._describe(event.selection_list)

    def _describe(self, methods: SelectionList[Any]) -> None:
        index = methods.highlighted
        text = ""
        if index is not None:
            name = str(methods.get_option_at_index(index).value)
            text = f"{name}: {load_all()[name]().description}"
        self.query_one("#setup-method-help", Static).update(text)

    # -- reading the form -------------------------------------------------------------------
    def request(self) -> RunRequest:
        """The request the form describes; ValueError names the field that is wrong."""
        source = str(self.query_one("#setup-source", Select).value)
        langs = [code for code, _ in LANGS if self.query_one(f"#setup-lang-{code}", Checkbox).value]
        if not langs:
            raise ValueError("Languages: tick at least one")
        methods = list(self.query_one("#setup-methods", SelectionList).selected)
        if not methods:
            raise ValueError("Methods: choose at least one")
        protocol = str(self.query_one("#setup-protocol", Select).value)
        for name in methods:
            try:
                check_method(name, get_method(name), protocol)
            except ValueError as exc:
                raise ValueError(f"Methods: {exc}") from None
        models = split_list(self.query_one("#setup-models", Input).value) or []
        if not models:
            raise ValueError("Models: give at least one model spec")
        api_base = self.prefill.params.api_base
        for spec in models:
            try:
                parse_spec(spec, api_base=api_base)
            except ValueError as exc:
                raise ValueError(f"Models: {spec!r}: {exc}") from None
        seed_text = self.query_one("#setup-seed", Input).value.strip() or "0"
        try:
            seed = int(seed_text)
        except ValueError:
            raise ValueError(f"Seed: {seed_text!r} is not a whole number") from None
        max_tokens = _positive(self.query_one("#setup-max-tokens", Input).value, "Max tokens")
        base = self.prefill.params.model_dump()
        if base["protocol"] != protocol:  # the other protocol's sampling settings apply
            base.pop("temperature"), base.pop("top_p")
        params = EvalParams.model_validate({**base, "protocol": protocol, "max_tokens": max_tokens})
        return RunRequest(
            source=source,
            languages=None if len(langs) == len(LANGS) else langs,
            users=split_list(self.query_one("#setup-users", Input).value),
            limit_users=_positive(self.query_one("#setup-limit-users", Input).value, "Users per language"),
            limit_turns=_positive(self.query_one("#setup-limit-turns", Input).value, "Turns per user"),
            methods=methods,
            models=models,
            seed=seed,
            params=params,
            concurrency=self.prefill.concurrency,
            run_id=self.query_one("#setup-run-id", Input).value.strip() or None,
        )

    def show_error(self, message: str) -> None:
        self.query_one("#setup-error", Static).update(message)

    @on(Button.Pressed, "#setup-start")
    def _start_pressed(self) -> None:
        self.action_start()

    @on(Input.Submitted)
    def _input_submitted(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#setup-back")
    def _back_pressed(self) -> None:
        self.app.pop_screen()

    def action_start(self) -> None:
        try:
            request = self.request()
            tasks, skipped = request.build_tasks(self.store)
        except ValueError as exc:
            self.show_error(str(exc))
            return
        if not tasks:
            hint = (
                " (import it first: sharehouse import yntp ../shared/yntp100)"
                if request.source == "yntp100"
                else ""
            )
            why = (
                f"; {len(skipped)} skipped, e.g. {skipped[0].user_id}: {skipped[0].reason}" if skipped else ""
            )
            self.show_error(f"No users to evaluate for source {request.source!r}{hint}{why}")
            return
        if skipped:
            self.notify(f"{len(skipped)} users skipped (e.g. {skipped[0].user_id}: {skipped[0].reason})")
        self.post_message(OpenRun(request.run_id, request=request, tasks=tasks, replace=True))


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


def _method_label(name: str, factory: Any) -> str:
    method = factory()
    belongs = method_protocols(method)
    only = f" ({belongs[0]} protocol)" if len(belongs) == 1 else ""
    return f"{name}{only}{' (trains, local only)' if method.trains else ''}"

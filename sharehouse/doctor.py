"""``sharehouse doctor``: is everything installed, assembled, loadable and consistent?"""

from __future__ import annotations

import importlib.metadata as md
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

PACKAGES = [
    "llama-cpp-python", "litellm", "duckdb", "textual", "transitions", "pydantic", "typer",
    "pyarrow", "torch", "sentence-transformers", "pot", "sacrebleu", "jieba", "sudachipy",
    "transformers", "peft", "trl",
]  # fmt: skip


def run_doctor(console: Console, *, db: Path | None, load_models: bool, check_db: bool) -> bool:
    from sharehouse.llm import GenParams
    from sharehouse.llm.local import LocalModel
    from sharehouse.llm.models import PACKAGED_MODELS, ModelNotInstalledError, ensure_model

    ok = True
    table = Table(title="packages", header_style="bold")
    table.add_column("package")
    table.add_column("version")
    for name in PACKAGES:
        try:
            table.add_row(name, md.version(name))
        except md.PackageNotFoundError:
            table.add_row(name, "[yellow]not installed[/yellow]")
    console.print(table)

    models = Table(title="packaged models", header_style="bold")
    for col in ("key", "model", "status"):
        models.add_column(col)
    for key, pm in PACKAGED_MODELS.items():
        try:
            path = ensure_model(key)
            status = f"[green]assembled, sha256 ok[/green] {path}"
            if load_models:
                model = LocalModel(path, name=f"local:{key}", n_ctx=512)
                try:
                    comp = model.complete_blocking(
                        [{"role": "user", "content": "Say hello in one word."}],
                        GenParams(max_tokens=8, temperature=0),
                    )
                    status += f"\n[green]loads, generates[/green] {comp.completion_tokens} tokens in {comp.latency_s:.2f}s"
                finally:
                    model.close()
        except ModelNotInstalledError as exc:
            status = f"[red]{exc}[/red]"
            ok = ok and key != "default"
        except Exception as exc:  # report, do not crash the doctor
            status = f"[red]{type(exc).__name__}: {exc}[/red]"
            ok = False
        models.add_row(key, pm.description, status)
    console.print(models)

    if check_db or db is not None:
        import duckdb

        from sharehouse.store import Store, StoreError
        from sharehouse.store.integrity import check_integrity

        try:
            with Store(db, read_only=True) as store:
                problems = check_integrity(store)
                tables = {r[0] for r in store.fetchall("SELECT table_name FROM information_schema.tables")}
                counts = {
                    table: (store.fetchone(f"SELECT count(*) FROM {table}") or (0,))[0]
                    if table in tables
                    else 0
                    for table in ("sessions", "turns", "eval_predictions", "eval_scores")
                }
                console.print(
                    f"database {store.path}: schema v{store.schema_version()}, "
                    f"{counts['sessions']} sessions, {counts['turns']} turns, "
                    f"{counts['eval_predictions']} predictions, {counts['eval_scores']} scores"
                )
        except StoreError as exc:
            console.print(f"[red]database: {exc}[/red]")
            return False
        except duckdb.Error as exc:  # a damaged file: say so, do not crash the doctor
            console.print(Text(f"database {db}: cannot be checked: {exc}", style="red"))
            return False
        if problems:
            ok = False
            for p in problems:
                console.print(Text.assemble(("integrity: ", "red"), p), highlight=False)
            console.print(f"[red]integrity: {len(problems)} problem(s)[/red]")
        else:
            console.print(
                "[green]integrity: no orphan or duplicate rows; every session's turns in order[/green]"
            )
    return ok

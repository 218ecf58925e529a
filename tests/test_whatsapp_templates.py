"""Every kind of message the flows send has a WhatsApp template documented, with the variables it gets:
outside the 24-hour window nothing else reaches a WhatsApp user."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTIFIERS = {"notify", "notify_audience"}
KIND_ARGUMENT = 2  # notify(store, users, kind, compose, now, ...) and notify_audience(store, audience, kind, ...)


def notify_calls() -> list[tuple[str, str, ast.Call]]:
    """(file, kind, call) for each notify(...) / notify_audience(...) in handlers/, constants resolved."""
    found = []
    for path in sorted((ROOT / "handlers").glob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        constants = {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                     for target in node.targets if isinstance(target, ast.Name)
                     and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in NOTIFIERS:
                kind = node.args[KIND_ARGUMENT]
                if isinstance(kind, ast.Name):
                    kind = ast.Constant(constants[kind.id])
                assert isinstance(kind, ast.Constant), f"{path.name}:{node.lineno}: kind is not a constant"
                found.append((f"{path.name}:{node.lineno}", kind.value, node))
    return found


def documented_kinds() -> set[str]:
    text = (ROOT / "docs" / "whatsapp.md").read_text("utf-8")
    return {name.lower() for name in re.findall(r"^\| `TWILIO_TEMPLATE_([A-Z_]+)` \|", text, re.MULTILINE)}


def test_the_scan_finds_the_known_senders() -> None:
    kinds = {kind for _where, kind, _call in notify_calls()}
    assert {"report_status", "broadcast", "poll", "programme_update", "consultation_reminder"} <= kinds


def test_every_kind_the_code_sends_has_a_template_row_in_the_docs() -> None:
    missing = {f"{where} {kind}" for where, kind, _call in notify_calls() if kind not in documented_kinds()}
    assert not missing, f"add a TWILIO_TEMPLATE_<KIND> row to docs/whatsapp.md for: {sorted(missing)}"


def test_the_docs_list_no_kind_the_code_never_sends() -> None:
    sent = {kind for _where, kind, _call in notify_calls()}
    assert documented_kinds() <= sent, sorted(documented_kinds() - sent)


def test_every_notification_gives_its_template_numbered_variables() -> None:
    without = [f"{where} {kind}" for where, kind, call in notify_calls()
               if "template_vars" not in {keyword.arg for keyword in call.keywords}]
    assert not without, without

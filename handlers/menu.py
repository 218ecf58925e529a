"""The main menu, help, and the words that work at any step (menu, bantuan, batal, berhenti, mulai).

```mermaid
stateDiagram-v2
    [*] --> menu.main
    menu.main --> menu.main: text we do not understand (help + menu)
    menu.main --> flow: chosen item (go:<flow>)
    menu.main --> menu.official: Menu petugas (officials only)
```
"""

from __future__ import annotations

from handlers.flow import Context, Flow, Registry, Step
from handlers.i18n import N_, _
from handlers.types import Option

MAIN = "menu.main"
OFFICIAL = "menu.official"

# The citizen's main menu; a flow module makes an item work by registering an action for its payload.
MAIN_ITEMS = (
    (N_("Report a problem"), "go:report"),
    (N_("My reports"), "go:my_reports"),
    (N_("Public consultations"), "go:consultation"),
    (N_("Programmes & info"), "go:programmes"),
    (N_("Quick polls"), "go:polls"),
    (N_("Help"), "help"),
    (N_("Settings"), "go:settings"),
)

KEYWORDS: dict[str, str] = {
    "menu": "menu", "/menu": "menu", "kembali": "menu", "back": "menu",
    "bantuan": "help", "help": "help", "tolong": "help", "/bantuan": "help", "/help": "help", "?": "help",
    "batal": "cancel", "cancel": "cancel", "/batal": "cancel", "/cancel": "cancel",
    "berhenti": "stop", "stop": "stop", "unsubscribe": "stop", "/berhenti": "stop", "/stop": "stop",
    "mulai": "start", "start": "start", "/start": "start", "/mulai": "start",
}


def keyword_of(text: str) -> str | None:
    """The global keyword a message is, if it is one ('MENU', 'Batal!', '/start' all count)."""
    word = text.strip().strip("!.,").casefold()
    if len(word) > 20:
        return None
    return KEYWORDS.get(word)


async def ask_main(ctx: Context) -> None:
    options = [Option(_(label), payload) for label, payload in MAIN_ITEMS]
    if ctx.user.is_official:
        options.append(Option(_("Officials' menu"), "go:menu_official"))
    ctx.say(_("What would you like to do? Choose a number or tap a button."), options)


async def handle_main(ctx: Context) -> None:
    ctx.retry(_("Sorry, I did not understand that. Please choose one of the menu items below."))


async def ask_official(ctx: Context) -> None:
    ctx.require_official("menu_official")
    assert ctx.registry is not None
    items = [Option(_(item.label), item.payload) for item in ctx.registry.official_menu]
    items.append(Option(_("Back to main menu"), "go:menu"))
    ctx.say(_("Officials' menu. What do you need?"), items)


async def handle_official(ctx: Context) -> None:
    ctx.require_official("menu_official")
    ctx.retry(_("Please choose one of the items below."))


async def show_help(ctx: Context) -> None:
    ctx.say(
        _(
            "Sinergi connects you with the district government.\n"
            "You can report a problem, follow your reports, join public consultations, "
            "get programme news and answer quick polls.\n\n"
            "Words that work at any time:\n"
            "MENU - back to the main menu\n"
            "BATAL - cancel what you are doing\n"
            "BANTUAN - this help\n"
            "BERHENTI - stop announcements (MULAI to get them again)"
        )
    )


async def start_official_menu(ctx: Context, _args: str) -> None:
    ctx.require_official("menu_official")
    ctx.goto(OFFICIAL)


async def help_action(ctx: Context, _args: str) -> None:
    await show_help(ctx)
    ctx.reask = True


def register(registry: Registry) -> None:
    registry.add_flow(Flow("menu", {MAIN: Step(ask_main, handle_main), OFFICIAL: Step(ask_official, handle_official)},
                           start=MAIN))
    registry.add_action("help", help_action)
    registry.add_action("go:menu_official", start_official_menu)
    registry.describe_command("start", N_("Start or restart"))
    registry.add_command("menu", "go:menu", description=N_("Main menu"))
    registry.add_command("bantuan", "help", description=N_("Help"))
    registry.add_command("help", "help")
    registry.describe_command("batal", N_("Cancel what you are doing"))
    registry.describe_command("berhenti", N_("Stop receiving messages"))

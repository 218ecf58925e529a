"""The list of flow modules. A new flow adds one import and one `register` line here."""

from __future__ import annotations

from handlers import (
    consultations,
    consultations_official,
    menu,
    onboarding,
    programmes,
    programmes_official,
    settings,
)
from handlers.flow import Registry


def build_registry() -> Registry:
    registry = Registry()
    for module in (menu, onboarding, settings, consultations, consultations_official, programmes,
                   programmes_official):
        module.register(registry)
    return registry

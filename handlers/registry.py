"""The list of flow modules. A new flow adds one import and one `register` line here."""

from __future__ import annotations

from handlers import broadcasts, menu, officials, onboarding, polls, settings
from handlers.flow import Registry


def build_registry() -> Registry:
    registry = Registry()
    for module in (menu, onboarding, settings, broadcasts, polls, officials):
        module.register(registry)
    return registry

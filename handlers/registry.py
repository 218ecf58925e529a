"""The list of flow modules. A new flow adds one import and one line in FLOW_MODULES."""

from __future__ import annotations

from handlers import (
    broadcasts,
    consultations,
    consultations_official,
    menu,
    officials,
    onboarding,
    polls,
    privacy,
    programmes,
    programmes_official,
    reports,
    reports_official,
    settings,
)
from handlers.flow import Registry

FLOW_MODULES = (
    menu,
    onboarding,
    settings,
    privacy,
    reports,
    reports_official,
    consultations,
    consultations_official,
    programmes,
    programmes_official,
    broadcasts,
    polls,
    officials,
)


def build_registry() -> Registry:
    registry = Registry()
    for module in FLOW_MODULES:
        module.register(registry)
    return registry

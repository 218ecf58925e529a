"""The list of flow modules. A new flow adds one import and one line in FLOW_MODULES."""

from __future__ import annotations

from handlers import (
    consultations,
    consultations_official,
    menu,
    onboarding,
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
)


def build_registry() -> Registry:
    registry = Registry()
    for module in FLOW_MODULES:
        module.register(registry)
    return registry

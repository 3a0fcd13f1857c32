"""Network builders, registered by family name; ``create_model`` builds one.

Every public module of this package is imported here, so its ``@register_model`` builders
join the registry (no hand-kept list), then every ``<name>.py`` of the folders in
``$ARCHSELECT_FAMILY_PATH``; each family's builder layouts are checked against its
search space's ``layouts``.
"""

import importlib
import pkgutil

from archselect.core.spaces import extra_family_dirs
from archselect.models._registry import (
    check_registry,
    create_model,
    list_models,
    load_family_modules,
    model_layouts,
    register_model,
    unregister_model,
)

__all__ = ["create_model", "list_models", "model_layouts", "register_model", "unregister_model"]


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    load_family_modules(extra_family_dirs())
    check_registry()


_discover()

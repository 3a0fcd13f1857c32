"""Network builders, registered by family name; ``create_model`` builds one."""

from archselect.models import cnn1d, cnn2d, mlp, recurrent, resnet, tcn, text  # noqa: F401
from archselect.models._registry import create_model, list_models, model_layouts, register_model

__all__ = ["create_model", "list_models", "model_layouts", "register_model"]

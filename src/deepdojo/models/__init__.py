"""Model registry and the built-in families (one file per family)."""

from deepdojo.models import cnn as _cnn  # noqa: F401  (registers "cnn")
from deepdojo.models import mlp as _mlp  # noqa: F401  (registers "mlp", "linear")
from deepdojo.models import resnet as _resnet  # noqa: F401  (registers "resnet_small")
from deepdojo.models.registry import create_model, create_model_for, default_arch, list_models, register_model

__all__ = ["create_model", "create_model_for", "default_arch", "list_models", "register_model"]

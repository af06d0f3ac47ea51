"""Model registry and the built-in families (one file per family)."""

from deepdojo.models import alexnet as _alexnet  # noqa: F401  (each import registers its family)
from deepdojo.models import autoencoder as _autoencoder  # noqa: F401
from deepdojo.models import cnn as _cnn  # noqa: F401
from deepdojo.models import cnn1d as _cnn1d  # noqa: F401
from deepdojo.models import collab as _collab  # noqa: F401
from deepdojo.models import detection as _detection  # noqa: F401
from deepdojo.models import fcn as _fcn  # noqa: F401
from deepdojo.models import embedding as _embedding  # noqa: F401
from deepdojo.models import gan as _gan  # noqa: F401
from deepdojo.models import inception as _inception  # noqa: F401
from deepdojo.models import language as _language  # noqa: F401
from deepdojo.models import lenet as _lenet  # noqa: F401
from deepdojo.models import localizer as _localizer  # noqa: F401
from deepdojo.models import mlp as _mlp  # noqa: F401
from deepdojo.models import resnet as _resnet  # noqa: F401
from deepdojo.models import seq2seq as _seq2seq  # noqa: F401
from deepdojo.models import sliding_window as _sliding_window  # noqa: F401
from deepdojo.models import sequence as _sequence  # noqa: F401
from deepdojo.models import tabular as _tabular  # noqa: F401
from deepdojo.models import text_rnn as _text_rnn  # noqa: F401
from deepdojo.models import unet as _unet  # noqa: F401
from deepdojo.models import vgg as _vgg  # noqa: F401
from deepdojo.models.registry import (
    create_model, create_model_for, default_arch, list_models, model_example, model_kind, register_model,
)

__all__ = ["create_model", "create_model_for", "default_arch", "list_models", "model_example", "model_kind",
           "register_model"]

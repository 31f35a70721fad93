"""Trained TensorFlow models (DIET, ResponseSelector) are stored without their optimizer's state.

Rasa saves a model with Keras' `save_weights`, whose checkpoint holds the Adam optimizer's two moment
estimates next to every weight: for our sparse input layers (~40k n-grams × 128, twice per model) that is two
thirds of each checkpoint and of the model file (docs/nlu-pipelines.md, section 7). Predicting needs only the
weights. Loading still works unchanged: Rasa builds a fresh optimizer, fits one example to create the
variables, then reads the weights (rasa.utils.tensorflow.models.RasaModel.load); the optimizer's variables
stay as built. What is lost is only the optimizer's momentum for `rasa train --finetune`, which we do not use.

`install()` replaces RasaModel.save for the Rasa process that imports our components; the pipeline's ensemble
members import it (voting.py).
"""

from __future__ import annotations

from rasa.utils.tensorflow.models import RasaModel

_OPTIMIZER = "optimizer"


def save_weights_only(model: RasaModel, model_file_name: str, overwrite: bool = True) -> None:
    """RasaModel.save without the optimizer: untrack it for the write, then track it again."""
    optimizer = getattr(model, _OPTIMIZER, None)
    if optimizer is not None:
        model._delete_tracking(_OPTIMIZER)
    try:
        model.save_weights(model_file_name, overwrite=overwrite, save_format="tf")
    finally:
        if optimizer is not None:
            setattr(model, _OPTIMIZER, optimizer)


def install() -> None:
    RasaModel.save = save_weights_only  # type: ignore[method-assign]

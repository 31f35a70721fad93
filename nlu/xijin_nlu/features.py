"""The input of the linear classifiers (the intent ensemble's linear member and the FAQ topic's selector): a
message's sentence features, each block scaled to unit length (the sparse n-gram counts, then the dense
Japanese word vectors), so a long message does not get sharper probabilities than a short one and neither
block drowns the other."""

from __future__ import annotations

import numpy as np
import scipy.sparse
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from sklearn.preprocessing import normalize


def sentence_matrix(messages: list[Message]) -> scipy.sparse.csr_matrix:
    """One row per message: its normalised sparse sentence features, then its normalised dense ones."""
    rows = []
    for message in messages:
        sparse = message.get_sparse_features(attribute=TEXT)[1]
        dense = message.get_dense_features(attribute=TEXT)[1]
        blocks = []
        if sparse is not None:
            blocks.append(normalize(scipy.sparse.csr_matrix(sparse.features)))
        if dense is not None:
            blocks.append(scipy.sparse.csr_matrix(normalize(np.asarray(dense.features))))
        rows.append(scipy.sparse.hstack(blocks, format="csr"))
    return scipy.sparse.vstack(rows, format="csr")

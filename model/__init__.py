"""Models. Each takes (N, C, T, V, M) input and returns logits (N, num_class).

Every model registers itself in ``utils.registry.MODELS`` (``@MODELS.register("agcn", aliases=
("model.agcn.Model",))``); a config's ``model:`` names a registered model, never a module path. The
imports below fill that registry.
"""

from model import aagcn, agcn, impsgnv2, posec3d, recognizer_gcn, sgn  # noqa: F401

"""The frustration model behind the tone rule: how frustrated one customer message sounds,
0 (calm) to 1 (frustrated), from a small logistic regression trained offline by
`scripts/train-tone` and shipped as `model.json`. Scoring is plain Python, no network.

    from handoff.ai.tone import frustration
    frustration("third time I'm asking, still no refund")  # 0.9...
"""

from handoff.ai.tone.model import ToneModel, frustration, load_model

__all__ = ["ToneModel", "frustration", "load_model"]

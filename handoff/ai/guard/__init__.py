"""The classifier guard: a small local model that confirms a "wants a person" signal (from
the keyword patterns or the AI) before a conversation leaves automation, so a stray phrase
such as "my agent said the parcel is late" or "are you a bot?" does not hand it off. It runs
in plain Python on the CPU, with no network, in well under a millisecond per message.

    from handoff.ai.guard import confirm_person_request
    confirm_person_request("human pls")  # GuardResult(score=0.97..., wants_person=True)
"""

from handoff.ai.guard.model import GuardResult, confirm_person_request, confirm_proposal, load_model

__all__ = ["GuardResult", "confirm_person_request", "confirm_proposal", "load_model"]

"""Who answers a conversation: routing, the handoff policy, agents' actions, the notices
the customer reads when ownership changes, the reminder and escalation ladder, and RQ jobs
(the AI itself is in `handoff.ai`). It builds on `gateway` and reaches channels only by
name through the registry."""

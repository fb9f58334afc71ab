"""Who answers a conversation: the ownership states and the handoff policy, the AI responder
and the knowledge base it answers from, the detection of a customer asking for a person,
summaries, RQ jobs, deadlines and the agents' queue page. It builds on `gateway` and reaches
channels only by name through the registry."""

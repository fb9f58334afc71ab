"""The policy's rules, one per module, each a `Rule` named `RULE`; their order is the
table in `handoff.policy.table`."""

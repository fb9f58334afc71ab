"""The AI side of handoff: the `Responder` contract and its offline (BM25 over the
knowledge base) and hosted-LLM implementations, the LLM client, retrieval and the
knowledge base with its demo entries, the AI's turn in a conversation, the summaries
written at handoff and their job, and the classifier guard that confirms a request for a
person. The rest of `handoff` decides who answers; this package writes what the AI says."""

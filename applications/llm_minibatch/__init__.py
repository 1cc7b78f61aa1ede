"""llm_minibatch."""

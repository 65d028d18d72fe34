"""The LLM layer: prompts, request parameters, answer parsing, cost."""

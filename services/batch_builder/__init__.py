"""batch-builder: accumulates LLM requests durably per model and sends them, as an OpenAI batch
when the backlog is large (50% cheaper) or synchronously when it is small."""

"""validator: parses each model answer, checks it against the taxonomy, attribute schemas and
brand aliases, applies the quality gate, and walks the fallback chain: stronger model -> rules
result -> review queue."""

"""router: schema check, business pre-filter, rule pre-extraction, complexity score and tier."""

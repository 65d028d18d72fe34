"""batch-poller: follows open provider batches to the end, reconciles every item by custom_id
and publishes one llm.results.v1 message per item; failed or expired items are resubmitted up to
a bound, then handed to the validator's fallback as errors."""

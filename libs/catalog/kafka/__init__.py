"""Kafka wiring shared by every service: topic registry, codec, the consume loop (with its
failure policy and bounded dead letters) and topic administration."""

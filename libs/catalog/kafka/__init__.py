"""Kafka wiring shared by every service: topic registry, codec, faust app factory, admin."""

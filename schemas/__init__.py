"""Contracts of RecSys Stream: JSON Schema and Avro twins, typed events, codecs, producer."""

"""The fuzz stage: generated bodies deepened onto the suite's own customers and programs, the batch-aware
schemathesis checks, and the pytest plugin of its options and budget."""
